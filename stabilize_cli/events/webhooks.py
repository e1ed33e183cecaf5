"""Webhook delivery for durable subscriptions, with the stdlib only.

A webhook URL comes from configuration that may not be fully trusted, and the process
that delivers it usually sits inside a private network. So a delivery refuses anything
but http(s), refuses hosts that resolve to internal addresses (unless the operator opts
in), never follows a redirect (which could point anywhere), and connects to exactly the
address it checked, so a DNS answer cannot change between the check and the connect.
``http.client`` is used rather than ``urllib.request`` because it follows no redirects
and consults no proxy environment variables, either of which would bypass those checks.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from .base import Event
from .errors import SubscriptionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "stabilize-cli-webhook/1"
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """A checked URL, split into what the connection and the request line need."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def display(self) -> str:
        """The URL without query string or credentials, safe to put in logs and errors."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS[self.scheme] == self.port
        netloc = host if default else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path.split('?', 1)[0]}"


def validate_webhook_url(url: str, allow_private: bool = False) -> None:
    """Reject a bad URL when the subscription is created, not at its first delivery.

    Only syntax, scheme and literal IP addresses are checked here; a host name is
    resolved and checked at each delivery, because its DNS answer can change.
    """
    target = parse_webhook_url(url)
    if not allow_private:
        literal = _ip_literal(target.host)
        if literal is not None:
            _refuse_if_internal(literal, target)


def parse_webhook_url(url: str) -> WebhookTarget:
    """Split and check a URL without touching the network."""
    if not isinstance(url, str) or not url:
        raise SubscriptionError("webhook URL is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise SubscriptionError("webhook URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SubscriptionError(f"webhook URL is malformed: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = scheme or "(none)"
        raise SubscriptionError(f"webhook URL must use http or https, not {shown}")
    if not parts.hostname:
        raise SubscriptionError("webhook URL has no host")
    if parts.username is not None or parts.password is not None:
        raise SubscriptionError(
            "webhook URL must not carry credentials (user:password@); "
            "they would be written to logs and the subscriptions table"
        )
    return WebhookTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port if port is not None else DEFAULT_PORTS[scheme],
        path=_request_path(parts),
    )


def deliver_webhook(
    url: str,
    event: Event,
    *,
    timeout: float = 5.0,
    allow_private: bool = False,
    delivery_id: str | None = None,
) -> None:
    """POST one event; return only once the receiver has acknowledged it with a 2xx.

    ``timeout`` bounds connecting (to each address in turn), then the request and the
    answer together, however slowly the receiver trickles it.

    ``delivery_id`` (the event id by default) is sent as ``Idempotency-Key`` and
    ``X-Stabilize-Delivery-Id`` and stays the same on every retry, so a receiver can
    drop the duplicates that at-least-once delivery produces.
    """
    if timeout <= 0:
        raise ValueError(f"webhook timeout must be positive (got {timeout})")
    target = parse_webhook_url(url)
    addresses = _resolve(target, allow_private)
    body = json.dumps(event.to_dict(), default=str).encode("utf-8")
    key = delivery_id if delivery_id is not None else event.event_id
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": key,
        "X-Stabilize-Delivery-Id": key,
        "X-Stabilize-Event-Type": event.type_name,
        "X-Stabilize-Event-Sequence": str(event.sequence),
    }
    status = _post(target, addresses, body, headers, timeout)
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise SubscriptionError(
            f"webhook {target.display} answered HTTP {status}; redirects are not followed"
        )
    raise SubscriptionError(f"webhook {target.display} answered HTTP {status}")


# -- addresses ----------------------------------------------------------------------------


def is_internal_address(address: IPAddress) -> bool:
    """True for any address a webhook must not reach without ``allow_private``.

    IPv6 forms that embed an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged
    by the IPv4 address they lead to, since that is where the packets end up.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_internal_address(embedded)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refuse_if_internal(address: IPAddress, target: WebhookTarget) -> None:
    if is_internal_address(address):
        raise SubscriptionError(
            f"webhook {target.display} resolves to {address}, a private, loopback, "
            "link-local or otherwise non-public address; refused (allow_private is off)"
        )


def _resolve(target: WebhookTarget, allow_private: bool) -> list[str]:
    """Every address of the host, all checked: one internal answer refuses the lot."""
    literal = _ip_literal(target.host)
    if literal is not None:
        if not allow_private:
            _refuse_if_internal(literal, target)
        return [str(literal)]
    try:
        infos = socket.getaddrinfo(
            target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as exc:
        raise SubscriptionError(f"cannot resolve webhook host {target.host!r}: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        host = str(info[4][0])
        if host in addresses:
            continue
        if not allow_private:
            _refuse_if_internal(ipaddress.ip_address(host), target)
        addresses.append(host)
    if not addresses:
        raise SubscriptionError(f"webhook host {target.host!r} has no address")
    return addresses


# -- HTTP ---------------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an already checked address while naming the original host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """TLS on the pinned socket; the certificate is verified against the URL's host."""

    default_port = 443

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, address, timeout)
        self._tls = context

    def connect(self) -> None:
        super().connect()
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self.host)


def _connection(target: WebhookTarget, address: str, timeout: float) -> _PinnedHTTPConnection:
    if target.scheme == "https":
        context = ssl.create_default_context()
        return _PinnedHTTPSConnection(target.host, target.port, address, timeout, context)
    return _PinnedHTTPConnection(target.host, target.port, address, timeout)


class _Deadline:
    """Cuts the connection once sending and answering took ``seconds`` in all.

    The socket timeout bounds each read, not the answer: a receiver sending its status
    line a byte at a time would otherwise hold the delivery, and the subscription
    behind it, for as long as it likes.
    """

    def __init__(self, conn: _PinnedHTTPConnection, seconds: float) -> None:
        self.expired = False
        self._conn = conn
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        self.expired = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also under TLS: the blocked read then ends.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _post(
    target: WebhookTarget,
    addresses: list[str],
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> int:
    """The response status; only connecting is retried on the next address.

    Once the request has been sent it may have been received, so a failure after
    that point is reported rather than repeated on another address.
    """
    failures: list[str] = []
    for address in addresses:
        conn = _connection(target, address, timeout)
        try:
            try:
                conn.connect()
            except TimeoutError:
                failures.append(f"{address}: connect timed out after {timeout:g}s")
                continue
            except OSError as exc:
                failures.append(f"{address}: {exc}")
                continue
            deadline = _Deadline(conn, timeout)
            try:
                with deadline:
                    conn.request("POST", target.path, body=body, headers=headers)
                    return conn.getresponse().status
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, TimeoutError) or deadline.expired:
                    raise SubscriptionError(
                        f"webhook {target.display} timed out after {timeout:g}s"
                    ) from exc
                raise SubscriptionError(f"webhook {target.display} failed: {exc}") from exc
        finally:
            conn.close()
    raise SubscriptionError(f"cannot connect to webhook {target.display}: {'; '.join(failures)}")


def _request_path(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path

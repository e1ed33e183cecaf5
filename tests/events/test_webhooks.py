"""Webhook delivery against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, Event, EventType
from stabilize_cli.events.errors import SubscriptionError
from stabilize_cli.events.store import SqliteEventStore
from stabilize_cli.events.subscriptions import SubscriptionManager
from stabilize_cli.events.webhooks import (
    deliver_webhook,
    is_internal_address,
    validate_webhook_url,
)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local webhook endpoint whose answer each test sets."""

    url: str = ""
    status: int = 200
    location: str | None = None
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    observe: Callable[[], Any] | None = None
    """Called as each request arrives, before the answer; results go to ``observed``."""
    observed: list[Any] = field(default_factory=list)


@pytest.fixture
def serve() -> Iterator[Callable[[], Receiver]]:
    started: list[tuple[ThreadingHTTPServer, threading.Thread, Receiver]] = []

    def start() -> Receiver:
        receiver = Receiver()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if receiver.observe is not None:
                    receiver.observed.append(receiver.observe())
                if receiver.delay:
                    receiver.release.wait(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location is not None:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hanging up early (timeout tests) is expected

        server = Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
        thread.daemon = True
        thread.start()
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        started.append((server, thread, receiver))
        return receiver

    yield start
    for server, thread, receiver in started:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(2)


@pytest.fixture
def event() -> Event:
    return Event(
        event_type=EventType.STAGE_COMPLETED,
        entity_type=EntityType.STAGE,
        entity_id="st-1",
        workflow_id="wf-1",
        version=1,
        sequence=7,
        data={"ref_id": "deploy", "status": "SUCCEEDED", "duration_ms": 1200, "outputs": {"a": 1}},
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)


# -- a successful delivery ------------------------------------------------------------------


def test_the_body_is_the_events_json_form(serve: Callable[[], Receiver], event: Event) -> None:
    receiver = serve()
    deliver_webhook(receiver.url, event, allow_private=True)
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0].body) == event.to_dict()


def test_the_request_carries_content_type_and_a_delivery_id(
    serve: Callable[[], Receiver], event: Event
) -> None:
    receiver = serve()
    deliver_webhook(receiver.url, event, allow_private=True)
    headers = receiver.requests[0].headers
    assert headers["content-type"] == "application/json"
    assert headers["idempotency-key"] == event.event_id
    assert headers["x-stabilize-delivery-id"] == event.event_id
    assert headers["x-stabilize-event-type"] == "stage.completed"


def test_path_and_query_string_are_kept(serve: Callable[[], Receiver], event: Event) -> None:
    receiver = serve()
    deliver_webhook(f"{receiver.url}/x?token=abc&n=1", event, allow_private=True)
    assert receiver.requests[0].path == "/hook/x?token=abc&n=1"


def test_any_2xx_status_is_success(serve: Callable[[], Receiver], event: Event) -> None:
    receiver = serve()
    receiver.status = 204
    deliver_webhook(receiver.url, event, allow_private=True)
    assert len(receiver.requests) == 1


# -- failed deliveries ------------------------------------------------------------------------


def test_a_500_answer_raises_naming_the_status(serve: Callable[[], Receiver], event: Event) -> None:
    receiver = serve()
    receiver.status = 500
    with pytest.raises(SubscriptionError, match="HTTP 500"):
        deliver_webhook(receiver.url, event, allow_private=True)


def test_a_redirect_is_a_failure_and_is_not_followed(
    serve: Callable[[], Receiver], event: Event
) -> None:
    redirector, target = serve(), serve()
    redirector.status = 302
    redirector.location = target.url
    with pytest.raises(SubscriptionError, match="HTTP 302; redirects are not followed"):
        deliver_webhook(redirector.url, event, allow_private=True)
    assert len(redirector.requests) == 1
    assert target.requests == []


def test_a_slow_receiver_times_out(serve: Callable[[], Receiver], event: Event) -> None:
    receiver = serve()
    receiver.delay = 2.0
    began = time.monotonic()
    with pytest.raises(SubscriptionError, match="timed out"):
        deliver_webhook(receiver.url, event, timeout=0.2, allow_private=True)
    assert time.monotonic() - began < 1.0


def test_a_closed_port_raises_subscription_error(event: Event) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SubscriptionError, match="cannot connect"):
        deliver_webhook(f"http://127.0.0.1:{port}/", event, timeout=0.5, allow_private=True)


# -- refused before any network I/O -----------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://x/", "x"])
def test_schemes_other_than_http_and_https_are_refused_without_network(
    no_network: None, event: Event, url: str
) -> None:
    with pytest.raises(SubscriptionError, match="http or https"):
        deliver_webhook(url, event)


def test_loopback_is_refused_unless_private_addresses_are_allowed(
    serve: Callable[[], Receiver], event: Event
) -> None:
    receiver = serve()
    with pytest.raises(SubscriptionError, match="refused"):
        deliver_webhook(receiver.url, event)
    assert receiver.requests == []


def test_an_ipv4_mapped_ipv6_loopback_is_refused(no_network: None, event: Event) -> None:
    with pytest.raises(SubscriptionError, match="refused"):
        deliver_webhook("http://[::ffff:127.0.0.1]:8080/hook", event)


def test_a_host_name_that_resolves_to_loopback_is_refused(
    serve: Callable[[], Receiver], event: Event
) -> None:
    receiver = serve()
    with pytest.raises(SubscriptionError, match="refused"):
        deliver_webhook(receiver.url.replace("127.0.0.1", "localhost"), event)
    assert receiver.requests == []


def test_a_numeric_host_name_for_loopback_is_refused(event: Event) -> None:
    with pytest.raises(SubscriptionError, match="refused"):
        deliver_webhook("http://2130706433:9/hook", event)


def test_one_internal_address_among_public_ones_refuses_the_host(
    monkeypatch: pytest.MonkeyPatch, event: Event
) -> None:
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(SubscriptionError, match=r"10\.0\.0\.5"):
        deliver_webhook("http://mixed.example.com/", event)


def test_the_connection_goes_to_the_address_that_was_checked(
    serve: Callable[[], Receiver], monkeypatch: pytest.MonkeyPatch, event: Event
) -> None:
    receiver = serve()
    port = int(receiver.url.split(":")[2].split("/")[0])
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    deliver_webhook(f"http://hooks.internal.test:{port}/hook", event, allow_private=True)
    assert receiver.requests[0].headers["host"] == f"hooks.internal.test:{port}"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
    ],
)
def test_internal_addresses_are_recognised(address: str) -> None:
    assert is_internal_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_internal_address(ipaddress.ip_address(address))


# -- validation at subscription creation ---------------------------------------------------------


def test_validation_accepts_an_https_host_name_without_resolving_it(no_network: None) -> None:
    validate_webhook_url("https://hooks.example.com/stabilize?x=1")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "http or https"),
        ("file:///etc/passwd", "http or https"),
        ("http:///path-only", "no host"),
        ("http://example.com:99999/", "malformed"),
        ("http://example.com:abc/", "malformed"),
        ("http://user:secret@example.com/", "credentials"),
        ("http://example.com/a b", "whitespace"),
        ("", "empty"),
    ],
)
def test_validation_refuses_malformed_urls(no_network: None, url: str, message: str) -> None:
    with pytest.raises(SubscriptionError, match=message):
        validate_webhook_url(url)


def test_validation_refuses_a_literal_private_address(no_network: None) -> None:
    with pytest.raises(SubscriptionError, match="refused"):
        validate_webhook_url("http://192.168.0.10/hook")


def test_validation_accepts_a_literal_private_address_when_allowed(no_network: None) -> None:
    validate_webhook_url("http://192.168.0.10/hook", allow_private=True)


# -- through the subscription manager ------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(str(tmp_path / "events.db"))
    yield s
    s.close()


def test_a_500_keeps_the_subscription_at_the_undelivered_event(
    serve: Callable[[], Receiver], store: SqliteEventStore
) -> None:
    receiver = serve()
    receiver.status = 500
    store.append_batch([Event(entity_id="wf-1", workflow_id="wf-1", version=1)])
    manager = SubscriptionManager(store, allow_private_webhooks=True, backoff_base=0.0)
    manager.create_subscription(
        "hook", lambda e: None, webhook_url=receiver.url, start_from="beginning"
    )
    assert manager.process_once() == 0
    row = store.get_subscription("hook")
    assert row is not None
    assert row["last_sequence"] == 0
    status = manager.get_subscription_status("hook")
    assert status is not None
    assert status["error_count"] == 1
    assert "HTTP 500" in status["last_error"]


def test_a_retried_delivery_reuses_the_same_delivery_id(
    serve: Callable[[], Receiver], store: SqliteEventStore
) -> None:
    receiver = serve()
    receiver.status = 503
    [stored] = store.append_batch([Event(entity_id="wf-1", workflow_id="wf-1", version=1)])
    manager = SubscriptionManager(store, allow_private_webhooks=True, backoff_base=0.0)
    manager.create_subscription(
        "hook", lambda e: None, webhook_url=receiver.url, start_from="beginning"
    )
    manager.process_once()
    receiver.status = 200
    assert manager.process_once() == 1
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys == [f"hook:{stored.event_id}", f"hook:{stored.event_id}"]
    row = store.get_subscription("hook")
    assert row is not None
    assert row["last_sequence"] == stored.sequence


def test_the_manager_refuses_a_loopback_webhook_by_default(store: SqliteEventStore) -> None:
    manager = SubscriptionManager(store)
    with pytest.raises(SubscriptionError, match="refused"):
        manager.create_subscription("hook", lambda e: None, webhook_url="http://127.0.0.1:9/x")
    assert store.get_subscription("hook") is None


# -- the WH rules of the reliability matrix, end to end ---------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def hook_manager(store: SqliteEventStore, url: str, **options: Any) -> SubscriptionManager:
    """A manager with private addresses explicitly allowed (the receiver is on 127.0.0.1)."""
    manager = SubscriptionManager(store, allow_private_webhooks=True, **options)
    manager.create_subscription("hook", lambda e: None, webhook_url=url, start_from="beginning")
    return manager


def position(store: SqliteEventStore) -> int:
    row = store.get_subscription("hook")
    assert row is not None
    return int(row["last_sequence"])


def append_events(store: SqliteEventStore, count: int) -> list[Event]:
    return store.append_batch(
        [Event(entity_id="wf-1", workflow_id="wf-1", version=i + 1) for i in range(count)]
    )


def test_a_receiver_trickling_its_answer_is_cut_at_the_timeout(event: Event) -> None:
    """The socket timeout bounds each read; the delivery as a whole must be bounded too."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 40:
                if stop.wait(0.05):
                    return
                with contextlib.suppress(OSError):
                    conn.sendall(bytes([byte]))

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    began = time.monotonic()
    try:
        with pytest.raises(SubscriptionError, match=r"timed out after 0\.3s"):
            deliver_webhook(f"http://127.0.0.1:{port}/", event, timeout=0.3, allow_private=True)
        assert time.monotonic() - began < 1.5
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_the_position_is_committed_only_after_each_2xx(
    serve: Callable[[], Receiver], store: SqliteEventStore, tmp_path: Path
) -> None:
    receiver = serve()
    stored = append_events(store, 3)

    def committed() -> int:
        with contextlib.closing(sqlite3.connect(tmp_path / "events.db")) as conn:
            row = conn.execute("SELECT last_sequence FROM event_subscriptions").fetchone()
        return int(row[0])

    receiver.observe = committed
    manager = hook_manager(store, receiver.url)
    assert manager.process_once() == 3
    sequences = [e.sequence for e in stored]
    assert receiver.observed == [0, *sequences[:2]]
    assert position(store) == sequences[-1]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_keeps_the_position_and_is_never_followed(
    serve: Callable[[], Receiver], store: SqliteEventStore, status: int
) -> None:
    redirector, elsewhere = serve(), serve()
    redirector.status, redirector.location = status, elsewhere.url
    append_events(store, 1)
    manager = hook_manager(store, redirector.url)
    assert manager.process_once() == 0
    assert position(store) == 0
    assert elsewhere.requests == []
    status_row = manager.get_subscription_status("hook")
    assert status_row is not None
    assert f"HTTP {status}; redirects are not followed" in status_row["last_error"]


def test_a_timed_out_delivery_keeps_the_position(
    serve: Callable[[], Receiver], store: SqliteEventStore
) -> None:
    receiver = serve()
    receiver.delay = 2.0
    append_events(store, 1)
    manager = hook_manager(store, receiver.url, webhook_timeout=0.2)
    began = time.monotonic()
    assert manager.process_once() == 0
    assert time.monotonic() - began < 1.5
    assert position(store) == 0
    status = manager.get_subscription_status("hook")
    assert status is not None
    assert "timed out after 0.2s" in status["last_error"]


def test_a_failed_webhook_is_retried_only_after_a_doubling_backoff(
    serve: Callable[[], Receiver], store: SqliteEventStore
) -> None:
    receiver = serve()
    receiver.status = 503
    [stored] = append_events(store, 1)
    clock = Clock()
    manager = hook_manager(store, receiver.url, backoff_base=1.0, clock=clock)
    attempts = []
    for advance in (0.0, 0.5, 0.5, 1.0, 1.0, 2.0):
        clock.now += advance
        manager.process_once()
        attempts.append(len(receiver.requests))
    assert attempts == [1, 1, 2, 2, 3, 3]  # waits of 1 s, then 2 s, then 4 s
    receiver.status = 200
    clock.now += 2.0
    assert manager.process_once() == 1
    assert position(store) == stored.sequence


def test_each_event_has_its_own_delivery_id(
    serve: Callable[[], Receiver], store: SqliteEventStore
) -> None:
    receiver = serve()
    stored = append_events(store, 2)
    hook_manager(store, receiver.url).process_once()
    ids = [r.headers["x-stabilize-delivery-id"] for r in receiver.requests]
    assert ids == [f"hook:{e.event_id}" for e in stored]
    assert [r.headers["idempotency-key"] for r in receiver.requests] == ids


def test_a_restarted_manager_redelivers_with_the_same_delivery_id(
    serve: Callable[[], Receiver], store: SqliteEventStore
) -> None:
    """The receiver got the event but its answer was lost: the retry after a restart
    carries the id the receiver has already seen, so it can drop the duplicate."""
    receiver = serve()
    receiver.delay = 2.0
    append_events(store, 1)
    first = hook_manager(store, receiver.url, webhook_timeout=0.2)
    assert first.process_once() == 0
    receiver.delay = 0.0
    restarted = SubscriptionManager(store, allow_private_webhooks=True)
    assert restarted.load_subscription("hook", lambda e: None)
    assert restarted.process_once() == 1
    ids = [r.headers["x-stabilize-delivery-id"] for r in receiver.requests]
    assert len(ids) == 2
    assert ids[0] == ids[1]

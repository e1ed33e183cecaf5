"""Value patterns: secrets recognised by their shape, whatever the key, inside any string.

Each rule hides only the secret part (``postgres://u:***@h``, ``Bearer ***``,
``ghp_***``) through a ``hide`` callback, which marks and counts. Every pattern runs in
linear time on hostile input: names and schemes are bounded, and runs are matched whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .keys import LONG_IN_TEXT, MARK, is_secret_key

Hide = Callable[[str], str]
"""Returns the mark for one secret part of a string, and counts it."""
Replace = Callable[[Hide, re.Match[str]], str]

MAYBE = re.compile(r"[:=_]|eyJ|AKIA|ASIA|xox|BEGIN|(?i:bearer|basic)")
"""Every rule needs one of these (``key=``, ``://``, ``gh?_``...): most strings have none."""


class _Pattern:
    """A rule's regular expression, compiled the first time a text could match it: a
    command that meets no URL or token never pays for compiling their patterns."""

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source, self.flags = source, flags

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.source, self.flags)


_PEM = _Pattern(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_JWT = _Pattern(r"(?<![A-Za-z0-9_.\-])eyJ[A-Za-z0-9_.\-]+")
"""A whole run of base64url and dots, checked in :func:`_jwt` (no backtracking inside)."""
_JWT_PARTS = _Pattern(r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
_USERINFO = _Pattern(r"\b([a-zA-Z][a-zA-Z0-9+.\-]{0,30}://)([^\s/?#'\"<>\\]*)@")
_QUERY = _Pattern(r"([?&;#])([A-Za-z0-9_.\-\[\]%]+)=([^&#\s'\"<>]*)")
_AUTH_SCHEME = _Pattern(r"\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/\-]+=*)", re.IGNORECASE)
_IN_TEXT = _Pattern(
    r"""(?<![A-Za-z0-9_.\-])(["']?)"""  # at the start of a name only, and bounded: linear
    rf"""([A-Za-z0-9_.\-]{{0,40}}?(?:{LONG_IN_TEXT})[A-Za-z0-9_.\-]{{0,40}})\1"""
    r"""(\s*[:=]\s*)((?:Bearer|Basic|Token|Digest)\s+)?("[^"]*"|'[^']*'|[^\s"',;&)}\]]+)""",
    re.IGNORECASE,
)
_AWS = _Pattern(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
_GITHUB = _Pattern(r"\b(gh[pousr]_)[A-Za-z0-9]{16,}|\b(github_pat_)[A-Za-z0-9_]{16,}")
_SLACK = _Pattern(r"\b(xox[abprs]-)[A-Za-z0-9\-]{8,}")


def _pem(hide: Hide, m: re.Match[str]) -> str:
    body = m.group(2)
    return m.group(1) + (hide(body) if body.strip() else body) + m.group(3)


def _jwt(hide: Hide, m: re.Match[str]) -> str:
    token = _JWT_PARTS.compiled.match(m.group(0))
    if token is None:
        return m.group(0)
    return hide(token.group(0)) + m.group(0)[token.end() :]


def _userinfo(hide: Hide, m: re.Match[str]) -> str:
    info = m.group(2)
    if ":" in info:
        user, password = info.split(":", 1)
        return f"{m.group(1)}{user}:{hide(password)}@"
    return f"{m.group(1)}{hide(info)}@"


def _query(hide: Hide, m: re.Match[str]) -> str:
    if not is_secret_key(m.group(2)):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}={hide(m.group(3))}"


def _auth_scheme(hide: Hide, m: re.Match[str]) -> str:
    credential = m.group(3)
    if not _looks_like_credential(credential):
        return m.group(0)
    return m.group(1) + m.group(2) + hide(credential)


def _looks_like_credential(word: str) -> bool:
    """Not an English word ("Basic configuration"): has a digit, a symbol or inner capitals."""
    if len(word) < 6:
        return False
    inner = word[1:]
    return any(c.isdigit() or c in "._~+/-=" for c in word) or (
        any(c.isupper() for c in inner) and any(c.islower() for c in inner)
    )


def _in_text(hide: Hide, m: re.Match[str]) -> str:
    quote, name, sep, scheme, value = m.groups()
    if value[:1] in "\"'" and len(value) >= 2:
        hidden = value[0] + hide(value[1:-1]) + value[-1]
    else:
        hidden = hide(value)
    return f"{quote}{name}{quote}{sep}{scheme or ''}{hidden}"


def _prefixed(hide: Hide, m: re.Match[str]) -> str:
    prefix = next(g for g in m.groups() if g)
    return prefix + hide(m.group(0)[len(prefix) :])


_RULES: tuple[tuple[tuple[str, ...], _Pattern, Replace], ...] = (
    # (text of which every match holds one, case-sensitively; none: always run), rule
    (("-----BEGIN ",), _PEM, _pem),
    (("eyJ",), _JWT, _jwt),
    (("://",), _USERINFO, _userinfo),
    (("=",), _QUERY, _query),
    ((":", "="), _IN_TEXT, _in_text),
    ((), _AUTH_SCHEME, _auth_scheme),  # IGNORECASE also matches a long s: no substring test
    (("AKIA", "ASIA"), _AWS, _prefixed),
    (("gh", "github_pat_"), _GITHUB, _prefixed),
    (("xox",), _SLACK, _prefixed),
)


def hide_patterns(text: str, hide: Hide) -> str:
    """The text with every value pattern's secret part replaced through ``hide``; a rule
    runs only on a text holding what any match of it must hold."""
    if MAYBE.search(text) is None:
        return text
    for needles, rule, replace in _RULES:
        if not needles or any(needle in text for needle in needles):
            text = rule.compiled.sub(functools.partial(replace, hide), text)
    return text


# -- webhook URLs

_RANDOM_SEGMENT = re.compile(
    r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}|[A-Za-z0-9]{20,}|[A-Za-z0-9_\-]{32,}"
)
"""A path segment that reads as a token, not a word: long, and mixed or unbroken."""


def hide_webhook_url(url: str, hide: Hide) -> str:
    """A webhook URL is a capability: scheme, host, port and the plain parts of the path
    stay; userinfo, every query and fragment value and random path segments are hidden."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return hide(url)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = f"{hide(parts.netloc.rsplit('@', 1)[0]) or MARK}@{netloc}"
    path = "/".join(hide(s) if _RANDOM_SEGMENT.fullmatch(s) else s for s in parts.path.split("/"))
    query, fragment = _hide_values(hide, parts.query), _hide_values(hide, parts.fragment)
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def _hide_values(hide: Hide, text: str) -> str:
    if not text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not pairs:
        return hide(text)
    return urlencode([(key, hide(value) or MARK) for key, value in pairs], safe="*")

"""Value patterns: secrets recognised by their shape, whatever the key, inside any string.

Each rule hides only the secret part (``postgres://u:***@h``, ``Bearer ***``,
``ghp_***``) through a ``hide`` callback, which marks and counts. The rules are classes of
secrets, not lists of examples: a name that holds a secret (:func:`.keys.is_secret_key`)
in any ``NAME=value``, ``"name": value``, ``--name value`` or "the name is value" form;
credentials in ``user:password@host`` with or without a scheme and in ``curl -u``;
``Bearer``/``Basic`` credentials, JWTs, PEM keys, and tokens known by their vendor's
prefix. Every rule runs in linear time on hostile input: names are bounded, runs are
matched whole, and a value is read only after its name was found to be a secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .keys import LONG_IN_TEXT, MARK, is_secret_key

Hide = Callable[[str], str]
"""Returns the mark for one secret part of a string, and counts it."""
Replace = Callable[[Hide, re.Match[str]], str]

MAYBE = re.compile(
    r"[:=@]|_[A-Za-z0-9]|--|eyJ|AKIA|ASIA|AIza|ya29\.|xox|xapp-|sk-|gl[a-z]{1,5}-|GOCSPX-|SG\."
    r"|pypi-|BEGIN|(?i:bearer|basic|pass|secret|token|pin|otp|key)"
)
"""Every rule needs one of these (``key=``, ``://``, ``gh?_``...): most strings have none."""


class _Pattern:
    """A rule's regular expression, compiled the first time a text could match it: a
    command that meets no URL or token never pays for compiling their patterns."""

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source, self.flags = source, flags

    @functools.cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.source, self.flags)


# -- secrets known by their shape ------------------------------------------------------

_PEM = _Pattern(
    r"(-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)(.*?)(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_JWT = _Pattern(r"(?<![A-Za-z0-9_.\-])eyJ[A-Za-z0-9_.\-]+")
"""A whole run of base64url and dots, checked in :func:`_jwt` (no backtracking inside)."""
_JWT_PARTS = _Pattern(r"eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*")
_USERINFO = _Pattern(
    r"\b([a-zA-Z][a-zA-Z0-9+.\-]{0,30}://)([^\s/?#'\"<>\\:@]*)(?::([^\s'\"<>\\]{0,256}))?@"
)
"""``scheme://user:password@``; an unencoded ``/``, ``#``, ``?`` or ``@`` in the password
too, except where it reads as a port and a path (``host:8080/path?to=a@b``: left as it is,
so an unencoded password that starts with up to five digits and a ``/`` is not found)."""
_BARE_USERINFO = _Pattern(
    r"(?<![A-Za-z0-9_.%+\-:/@\\])([A-Za-z0-9_.%+\-]{1,64})"
    r":([^\s@/:'\"<>\\][^\s@:'\"<>\\]{0,255})@(?=[\w\[])"
)
"""``admin:S3CRET@db.internal`` without a scheme (a DSN, an rsync or scp target)."""
_QUERY = _Pattern(r"([?&;#])([A-Za-z0-9_.\-\[\]%]+)=([^&#;\s'\"<>]*)")
_AUTH_SCHEME = _Pattern(r"\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/\-]+=*)", re.IGNORECASE)
_USER_OPTION = _Pattern(
    r"(?<![\w-])(-u|--user|--proxy-user)([ \t]*=?[ \t]*)([^\s:\"']{1,128}):([^\s\"']+)"
)
"""``curl -u admin:S3CRET``."""
_AWS = _Pattern(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
_GITHUB = _Pattern(r"\b(gh[pousr]_)[A-Za-z0-9]{16,}|\b(github_pat_)[A-Za-z0-9_]{16,}")
_SLACK = _Pattern(r"\b(xox[a-z](?:\.xox[a-z])?-|xapp-)[A-Za-z0-9\-]{8,}")
_VENDOR = _Pattern(
    r"\b([sr]k_(?:live|test)_|whsec_)[A-Za-z0-9]{16,}"  # Stripe
    r"|\b(sk-(?:proj|ant|svcacct|admin)-)[A-Za-z0-9_\-]{16,}"  # OpenAI, Anthropic
    r"|\b(sk-)[A-Za-z0-9]{20,}"  # OpenAI, older keys
    r"|\b(gl(?:pat|dt|rt|ptt|cbt|ft|imt|oas|soat)-)[A-Za-z0-9_\-]{16,}"  # GitLab
    r"|\b(AIza)[0-9A-Za-z_\-]{30,}|\b(ya29\.)[0-9A-Za-z_\-]{20,}|\b(GOCSPX-)[A-Za-z0-9_\-]{16,}"
    r"|\b(npm_)[A-Za-z0-9]{30,}|\b(hf_)[A-Za-z0-9]{30,}|\b(pypi-)AgE[A-Za-z0-9_\-]{30,}"
    r"|\b(SG\.)[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"  # SendGrid
    r"|\b(shp(?:at|ss|ca|pa)_)[A-Fa-f0-9]{32}|\b(dop_v1_)[a-f0-9]{64}"  # Shopify, DigitalOcean
)
"""Tokens known by their vendor's prefix; the prefix stays, to say what leaked."""
_WEBHOOK_PATH = _Pattern(
    r"\b(hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/(?:[A-Za-z0-9]+/){1,3})"
    r"([A-Za-z0-9]{8,})"
    r"|\b(discord(?:app)?\.com/api/webhooks/\d+/)([A-Za-z0-9_\-]{16,})"
)
"""Webhook URLs whose path is the credential (Slack, Discord)."""

_TRAILING = ".!?:"
"""Sentence punctuation after a value ends the sentence, not the value: it stays shown."""
_NOT_USERINFO = frozenset({"mailto", "sip", "sips", "tel", "xmpp", "urn", "data"})


def _trailing(value: str, punctuation: str = _TRAILING) -> tuple[str, str]:
    """A value and the sentence punctuation after it (all of it, if nothing else is left)."""
    body = value.rstrip(punctuation)
    return (body, value[len(body) :]) if body else (value, "")


def _hide_value(hide: Hide, value: str) -> str:
    """A quoted value keeps its quotes; an unquoted one its sentence punctuation."""
    if value[:1] in "\"'" and len(value) >= 2 and value[-1] == value[0]:
        return value[0] + hide(value[1:-1]) + value[-1]
    body, tail = _trailing(value)
    return hide(body) + tail


def _pem(hide: Hide, m: re.Match[str]) -> str:
    body = m.group(2)
    return m.group(1) + (hide(body) if body.strip() else body) + m.group(3)


def _jwt(hide: Hide, m: re.Match[str]) -> str:
    token = _JWT_PARTS.compiled.match(m.group(0))
    if token is None:
        return m.group(0)
    return hide(token.group(0)) + m.group(0)[token.end() :]


def _userinfo(hide: Hide, m: re.Match[str]) -> str:
    scheme, user, password = m.groups()
    if password is not None and "/" in password and _a_port(password.split("/")[0]):
        return m.group(0)
    if password is not None:
        return f"{scheme}{user}:{hide(password)}@"
    return f"{scheme}{hide(user)}@"


def _a_port(text: str) -> bool:
    return text.isdigit() and len(text) <= 5 and int(text) <= 65535


def _bare_userinfo(hide: Hide, m: re.Match[str]) -> str:
    user, password = m.group(1), m.group(2)
    if user.casefold() in _NOT_USERINFO or password.isdigit():  # a port: host:5432@...
        return m.group(0)
    return f"{user}:{hide(password)}@"


def _query(hide: Hide, m: re.Match[str]) -> str:
    if not is_secret_key(m.group(2)):
        return m.group(0)
    body, tail = _trailing(m.group(3), _TRAILING + ")]},;")  # a URL in brackets, a list
    return f"{m.group(1)}{m.group(2)}={hide(body)}{tail}"


def _auth_scheme(hide: Hide, m: re.Match[str]) -> str:
    credential, tail = _trailing(m.group(3))
    if not _looks_like_credential(credential):
        return m.group(0)
    return m.group(1) + m.group(2) + hide(credential) + tail


def _looks_like_credential(word: str, shortest: int = 6) -> bool:
    """Not an English word ("Basic configuration"): has a digit, a symbol or inner capitals."""
    if len(word) < shortest:
        return False
    inner = word[1:]
    return any(c.isdigit() or c in "._~+/-=!@#$%^&*" for c in word) or (
        any(c.isupper() for c in inner) and any(c.islower() for c in inner)
    )


def _user_option(hide: Hide, m: re.Match[str]) -> str:
    option, sep, user, password = m.groups()
    return f"{option}{sep}{user}:{_hide_value(hide, password)}"


def _prefixed(hide: Hide, m: re.Match[str]) -> str:
    prefix = next(g for g in m.groups() if g)
    return prefix + hide(m.group(0)[len(prefix) :])


def _webhook_path(hide: Hide, m: re.Match[str]) -> str:
    head = m.group(1) or m.group(3)
    return head + hide(m.group(2) or m.group(4))


# -- secrets known by the name before them ---------------------------------------------

_VALUE = r"""("[^"]*"|'[^']*'|[^\s"'`,;&>)}\]]+)"""
"""A value: quoted, or a run up to a space, a quote or a closing character."""
_NAME_IS = _Pattern(
    r"""(?<![A-Za-z0-9_.\-])(["']?)([A-Za-z0-9_.\-]{1,100})\1(\s*[:=]\s*)"""
    r"""((?:Bearer|Basic|Token|Digest)\s+)?""",
    re.IGNORECASE,
)
"""``NAME=``, ``--name=``, ``"name": ``, ``name: `` (a whole name: linear)."""
_FLAG = _Pattern(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9_\-]{0,60})([ \t]+)(?!-)")
"""``--password S3CRET``: a secret-named option and the word after it."""
_PROSE = _Pattern(
    r"\b(?:password|passphrase|passcode|pin|pin code|otp|token|secret|api key)"
    r"\s+(?:is|was|=|:)\s+",
    re.IGNORECASE,
)
""""the password is S3CRET": hidden when the word reads as a credential, not as English."""
_VALUE_AT = _Pattern(_VALUE)
LONG_IN_TEXT_RE = _Pattern(LONG_IN_TEXT, re.IGNORECASE)
_NOT_SECRET_VALUES = frozenset({"null", "none", "true", "false", "nil", "undefined", ""})
_FLAG_NOT_SECRET = frozenset({"file", "path", "stdin", "env", "fd", "dir", "length", "len"})
"""``--password-file /run/x``: the option names where the secret is, not the secret."""


def _name_is(m: re.Match[str]) -> bool:
    """``NAME=`` and ``"name":`` name a key; a bare ``word:`` is often prose
    (``KeyError: 'region'``, ``missing key: region``), so it must be a long secret name
    or an identifier (``db_pass:``, ``mfa-code:``) holding a secret word."""
    quote, name, sep = m.group(1), m.group(2), m.group(3)
    if quote or "=" in sep:
        return is_secret_key(name)
    if LONG_IN_TEXT_RE.compiled.search(name):
        return True
    return any(c in name.strip("-") for c in "_.-") and is_secret_key(name)


def _a_value(m: re.Match[str], value: str) -> bool:
    """JSON's and Python's constants are not secrets (``"token": null``)."""
    return value.strip("\"'").casefold() not in _NOT_SECRET_VALUES


def _flag_names_secret(m: re.Match[str]) -> bool:
    flag = m.group(1)
    words = [w for w in re.split(r"[-_]+", flag.casefold()) if w]
    return len(flag.lstrip("-")) >= 2 and is_secret_key(flag) and words[-1] not in _FLAG_NOT_SECRET


def _reads_as_credential(m: re.Match[str], value: str) -> bool:
    quoted = value[:1] in "\"'" and len(value) >= 2
    return quoted or _looks_like_credential(_trailing(value)[0], shortest=4)


@dataclass(frozen=True)
class _Named:
    """A rule whose match is a name and its separator: the value after it is read only
    when ``name_ok`` says the name holds a secret, then hidden if ``value_ok`` agrees.
    Each character is looked at a bounded number of times: linear on any input."""

    head: _Pattern
    name_ok: Callable[[re.Match[str]], bool] = lambda m: True
    value_ok: Callable[[re.Match[str], str], bool] = lambda m, value: True

    def hide(self, text: str, hide: Hide) -> str:
        head, value_at = self.head.compiled, _VALUE_AT.compiled
        parts: list[str] = []
        done = 0
        match = head.search(text)
        while match is not None:
            value = value_at.match(text, match.end()) if self.name_ok(match) else None
            if value is not None and self.value_ok(match, value.group()):
                parts += (text[done : match.end()], _hide_value(hide, value.group()))
                done = value.end()
            match = head.search(text, max(done, match.end()))
        parts.append(text[done:])
        return "".join(parts)


_Rule = tuple[tuple[str, ...], _Pattern, Replace] | tuple[tuple[str, ...], _Named]
_RULES: tuple[_Rule, ...] = (
    # (text of which every match holds one, case-sensitively; none: always run), rule
    (("-----BEGIN ",), _PEM, _pem),
    (("eyJ",), _JWT, _jwt),
    (("://",), _USERINFO, _userinfo),
    (("@",), _BARE_USERINFO, _bare_userinfo),
    (("=",), _QUERY, _query),
    (("hooks.slack", "discord"), _WEBHOOK_PATH, _webhook_path),
    (("-u", "--user", "--proxy-user"), _USER_OPTION, _user_option),
    ((":", "="), _Named(_NAME_IS, name_ok=_name_is, value_ok=_a_value)),
    (("-",), _Named(_FLAG, name_ok=_flag_names_secret)),
    ((), _Named(_PROSE, value_ok=_reads_as_credential)),  # IGNORECASE: no substring test
    ((), _AUTH_SCHEME, _auth_scheme),  # IGNORECASE also matches a long s: no substring test
    (("AKIA", "ASIA"), _AWS, _prefixed),
    (("gh", "github_pat_"), _GITHUB, _prefixed),
    (("xox", "xapp-"), _SLACK, _prefixed),
    (("_", "-", "AIza", "ya29.", "SG."), _VENDOR, _prefixed),
)


def hide_patterns(text: str, hide: Hide) -> str:
    """The text with every value pattern's secret part replaced through ``hide``; a rule
    runs only on a text holding what any match of it must hold."""
    if MAYBE.search(text) is None:
        return text
    for rule in _RULES:
        needles = rule[0]
        if needles and not any(needle in text for needle in needles):
            continue
        if len(rule) == 2:
            text = rule[1].hide(text, hide)
        else:
            text = rule[1].compiled.sub(functools.partial(rule[2], hide), text)
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

"""Redaction by class: generated members of every kind of secret are hidden, in every
context, and generated near-misses of every kind stay visible.

Each strategy builds a secret in one form (a key-name family, a free-text form, a vendor
token, an encoding of a declared secret) and places it in a context (a JSON value at some
depth, free text with punctuation around it). The check is independent of the rules: no
eight-character piece of the secret may remain anywhere in the redacted output, and a
base64 run in the output may not decode to it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from stabilize_cli.redaction import MARK, DeclaredSecrets, Redactor, is_secret_key

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the secrets ------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
SYMBOLS = "_-+/~#$%^!"


@st.composite
def secrets(draw: st.DrawFn, *, symbols: str = SYMBOLS, shortest: int = 10) -> str:
    """A credential-looking value: starts and ends alphanumeric, holds a digit and a letter."""
    first = draw(st.sampled_from(ALNUM))
    middle = draw(st.text(ALNUM + symbols, min_size=shortest - 3, max_size=30))
    last = draw(st.sampled_from(string.digits))
    value = f"{first}{middle}A{last}"
    return value


def leaked(secret: str, output: str, context: str = "") -> bool:
    """Whether any eight-character piece of the secret is in the output, also inside a
    base64 run of the output (pieces the surrounding text holds anyway do not count)."""
    pieces = {secret[i : i + 8] for i in range(max(1, len(secret) - 7))}
    pieces = {piece for piece in pieces if piece not in context}
    if any(piece in output for piece in pieces):
        return True
    return any(piece in decoded for decoded in _base64_decodings(output) for piece in pieces)


def _base64_decodings(output: str) -> list[str]:
    found = []
    for run in re.findall(r"[A-Za-z0-9+/_\-]{8,}", output):
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            for alphabet in (None, b"-_"):
                try:
                    raw = base64.b64decode(chunk, altchars=alphabet, validate=False)
                except (binascii.Error, ValueError):
                    continue
                found.append(raw.decode("latin-1"))
    return found


# -- key-name families ------------------------------------------------------------------

FAMILY_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "ssh_private",
    "credential",
    "authorization",
    "cookie",
    "session",
    "dsn",
    "connection_string",
    "database_url",
    "card_number",
    "pass",
    "pwd",
    "pw",
    "pin",
    "otp",
    "totp",
    "mfa",
    "jwt",
    "hmac",
    "salt",
    "sig",
    "signature",
    "key",
    "auth",
    "cvv",
)
PREFIXES = ("", "db", "app", "signing", "mysql", "x", "client", "aws", "stripe", "user")
SUFFIXES = ("", "value", "code", "hash", "b64", "2")


def _join(words: list[str], style: str) -> str:
    if style == "snake":
        return "_".join(words)
    if style == "kebab":
        return "-".join(words)
    if style == "upper":
        return "_".join(words).upper()
    if style == "dotted":
        return ".".join(words)
    head, *rest = words
    return head + "".join(w[:1].upper() + w[1:] for w in rest)  # camel


@st.composite
def secret_key_names(draw: st.DrawFn) -> str:
    family = draw(st.sampled_from(FAMILY_WORDS)).split("_")
    prefix = draw(st.sampled_from(PREFIXES))
    suffix = draw(st.sampled_from(SUFFIXES))
    words = [w for w in (prefix, *family, suffix) if w]
    return _join(words, draw(st.sampled_from(("snake", "kebab", "upper", "dotted", "camel"))))


NEAR_MISS_KEYS = (
    "author",
    "authority",
    "authored_by",
    "keyboard",
    "keys",
    "monkey",
    "donkey",
    "turkey_count",
    "pinned",
    "spinner",
    "opinion",
    "pinyin",
    "pinto",
    "signed_off",
    "signal",
    "design",
    "assignment",
    "passage",
    "passed",
    "compass",
    "bypassed",
    "passenger",
    "tokyo",
    "sessile",
    "salty",
    "saltwater",
    "otplike",
    "jwtish",
    "hmacs",
    "cookbook",
)
"""Words that contain a secret name without being one: their values must stay."""


def nest(value: Any, path: list[str | int]) -> Any:
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


PATHS = st.lists(st.one_of(st.sampled_from(["context", "outputs", "stage", "a"]), st.just(0)))


@SETTINGS
@given(name=secret_key_names(), secret=secrets(), path=PATHS, as_int=st.booleans())
@example(name="passphrase", secret="correct-horse-7", path=[], as_int=False)
@example(name="db_pass", secret="S3CRETpassword1", path=["context"], as_int=False)
@example(name="mfa_code", secret="998877665544", path=[], as_int=True)
@example(name="signingSalt", secret="c2FsdHNhbHQ0", path=[0], as_int=False)
def test_a_value_under_any_secret_family_name_is_hidden_at_any_depth(
    name: str, secret: str, path: list[str | int], as_int: bool
) -> None:
    assert is_secret_key(name), name
    value: Any = int(re.sub(r"\D", "", secret) or 7) if as_int else secret
    shown = Redactor().redact_value(nest({name: value, "status": "RUNNING"}, path))
    for step in path:
        shown = shown[step]
    assert shown == {name: MARK, "status": "RUNNING"}


@SETTINGS
@given(name=st.sampled_from(NEAR_MISS_KEYS), value=secrets(), path=PATHS)
def test_a_value_under_a_near_miss_name_stays(name: str, value: str, path: list[str | int]) -> None:
    assert not is_secret_key(name), name
    payload = nest({name: value}, path)
    redactor = Redactor()
    assert redactor.redact_value(payload) == payload
    assert redactor.hidden == 0


# -- free-text forms ----------------------------------------------------------------------

TEXT_NAMES = st.one_of(
    secret_key_names().filter(lambda n: any(c in n for c in "_-.")),
    st.sampled_from(("password", "passphrase", "token", "secret", "api_key", "client_secret")),
)
"""Names as they appear in free text before ``:``: an identifier or a long secret name."""
ASSIGNED_NAMES = st.one_of(
    secret_key_names(), st.sampled_from(("DB_PASS", "MYSQL_PWD", "PGPASSWORD", "pin", "otp"))
)
"""Names before ``=`` (environment variables, options, parameters): any secret name."""
Form = Callable[[str], str]


@st.composite
def forms(draw: st.DrawFn) -> Form:
    kind = draw(
        st.sampled_from(
            (
                "assign",
                "colon",
                "quoted",
                "option",
                "option=",
                "curl",
                "url",
                "bare-url",
                "prose",
                "bearer",
                "sas",
                "query",
            )
        )
    )
    if kind == "assign":
        name = draw(ASSIGNED_NAMES)
        return lambda s: f"{name}={s}"
    if kind == "colon":
        name = draw(TEXT_NAMES)
        return lambda s: f"{name}: {s}"
    if kind == "quoted":
        name = draw(secret_key_names())
        q = draw(st.sampled_from(("'", '"')))
        sep = draw(st.sampled_from((": ", ":", "=", " = ")))
        return lambda s: f"{q}{name}{q}{sep}{q}{s}{q}"
    if kind == "option":
        name = draw(st.sampled_from(("--password", "--token", "--db-pass", "--api-key", "--pin")))
        return lambda s: f"tool {name} {s} --verbose"
    if kind == "option=":
        name = draw(st.sampled_from(("--password", "--token", "--client-secret", "--otp")))
        return lambda s: f"tool {name}={s}"
    if kind == "curl":
        option = draw(st.sampled_from(("-u ", "-u", "--user ", "--user=", "--proxy-user ")))
        return lambda s: f"curl {option}admin:{s} https://api.example/x"
    if kind == "url":
        scheme = draw(st.sampled_from(("postgres", "https", "mysql+pymysql", "redis", "amqp")))
        return lambda s: f"dial {scheme}://app:{s}@db.internal:5432/x"
    if kind == "bare-url":
        return lambda s: f"rsync deploy:{s}@backup.internal:/srv"
    if kind == "prose":
        word = draw(st.sampled_from(("password", "Password", "passphrase", "token", "PIN")))
        verb = draw(st.sampled_from(("is", "was", ":", "=")))
        return lambda s: f"the {word} {verb} {s}"
    if kind == "bearer":
        return lambda s: f"Authorization: Bearer {s}"
    if kind == "sas":
        return lambda s: f"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sig={s}&se=1"
    name = draw(ASSIGNED_NAMES)
    return lambda s: f"GET https://h.example/x?page=2&{name}={s}"


AROUND = (
    ("", ""),
    ("error: ", "."),
    ("(", ")"),
    ("[", "]"),
    ("{", "}"),
    ("'", "'"),
    ('"', '"'),
    ("<", ">"),
    ("x ", ", y"),
    ("", "; retry"),
    ("", "!"),
    ("\n", "\n"),
)


@SETTINGS
@given(form=forms(), secret=secrets(), around=st.sampled_from(AROUND))
def test_a_secret_in_any_free_text_form_is_hidden_with_any_punctuation_around(
    form: Form, secret: str, around: tuple[str, str]
) -> None:
    # Documented exception: in scheme://app:1234/x@host the "1234/x" reads as a port and a
    # path (host:8080/p?to=a@b is a real URL), so such an unencoded password is not found.
    assume(re.match(r"\d{1,5}/", secret) is None)
    before, after = around
    shown = Redactor().redact_text(before + form(secret) + after)
    assert not leaked(secret, shown, context=before + form("") + after), shown
    assert MARK in shown
    assert shown.endswith(after), "the character after a secret is kept"


# -- vendor tokens ------------------------------------------------------------------------


def _body(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size + 12).filter(
        lambda b: any(c.isdigit() for c in b) and any(c.isalpha() for c in b)
    )


URLSAFE = ALNUM + "_-"
VENDORS: dict[str, tuple[str, str, int]] = {
    "stripe secret": ("sk_live_", ALNUM, 24),
    "stripe test": ("sk_test_", ALNUM, 24),
    "stripe restricted": ("rk_live_", ALNUM, 24),
    "stripe webhook": ("whsec_", ALNUM, 32),
    "openai project": ("sk-proj-", URLSAFE, 40),
    "openai": ("sk-", ALNUM, 40),
    "anthropic": ("sk-ant-", URLSAFE, 60),
    "gitlab": ("glpat-", URLSAFE, 20),
    "google": ("AIza", URLSAFE, 35),
    "google oauth": ("ya29.", URLSAFE, 40),
    "npm": ("npm_", ALNUM, 36),
    "hugging face": ("hf_", ALNUM, 34),
    "github": ("ghp_", ALNUM, 36),
    "github oauth": ("gho_", ALNUM, 36),
    "github fine-grained": ("github_pat_", ALNUM + "_", 60),
    "slack bot": ("xoxb-", ALNUM + "-", 40),
    "slack user": ("xoxp-", ALNUM + "-", 40),
    "slack app": ("xapp-", ALNUM + "-", 40),
    "aws access key id": ("AKIA", string.ascii_uppercase + string.digits, 16),
}


@st.composite
def vendor_tokens(draw: st.DrawFn) -> tuple[str, str]:
    prefix, alphabet, size = VENDORS[draw(st.sampled_from(sorted(VENDORS)))]
    if prefix == "AKIA":
        return prefix, draw(st.text(alphabet, min_size=16, max_size=16))
    return prefix, draw(_body(alphabet, size))


@SETTINGS
@given(token=vendor_tokens(), around=st.sampled_from(AROUND))
def test_a_vendor_token_is_hidden_and_its_prefix_kept(
    token: tuple[str, str], around: tuple[str, str]
) -> None:
    prefix, body = token
    before, after = around
    shown = Redactor().redact_text(f"{before}push failed with {prefix}{body}{after}")
    assert not leaked(body, shown), shown
    assert prefix in shown


@SETTINGS
@given(
    workspace=st.text(string.ascii_uppercase + string.digits, min_size=9, max_size=11),
    channel=st.text(string.ascii_uppercase + string.digits, min_size=9, max_size=11),
    token=_body(ALNUM, 24),
)
def test_a_slack_webhook_url_in_text_loses_its_token(
    workspace: str, channel: str, token: str
) -> None:
    url = f"https://hooks.slack.com/services/T{workspace}/B{channel}/{token}"
    shown = Redactor().redact_text(f"notify {url} failed: 404")
    assert not leaked(token, shown)
    assert "hooks.slack.com/services/" in shown
    assert shown.endswith(" failed: 404")


# -- declared secrets, encoded ------------------------------------------------------------


@SETTINGS
@given(
    secret=secrets(symbols=SYMBOLS + " :@&=?"),
    before=st.text(ALNUM + ":", max_size=6),
    after=st.text(ALNUM, max_size=4),
    encoding=st.sampled_from(("url", "url+", "url lower", "base64", "base64url", "json")),
)
def test_a_declared_secret_is_hidden_also_url_encoded_json_escaped_or_in_base64(
    secret: str, before: str, after: str, encoding: str
) -> None:
    declared = DeclaredSecrets.build(["db_login"], [secret])
    whole = f"{before}{secret}{after}".encode()
    if encoding == "url":
        text = f"GET /x?login={quote(secret, safe='')}&page=1"
    elif encoding == "url+":
        text = f"POST body login={quote_plus(secret)}"
    elif encoding == "url lower":
        encoded = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(secret, safe=""))
        text = f"GET /x?login={encoded}"
    elif encoding == "base64":
        text = f"Basic {base64.b64encode(whole).decode()}"
    elif encoding == "base64url":
        text = f"state={base64.urlsafe_b64encode(whole).decode()}"
    else:
        text = f"payload {json.dumps({'v': secret})}"
    shown = Redactor().redact_text(text, secrets=declared)
    assert not leaked(secret, shown), shown
    for form in (quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]):
        assert form not in shown


# -- what must stay -----------------------------------------------------------------------

BENIGN_TEXTS = (
    "the password is incorrect",
    "the token is expired",
    "password was rejected",
    "KeyError: 'region'",
    "missing key: region",
    "Basic configuration failed",
    "Bearer tokens expire",
    "pip install scikit-learn (sk-learn) failed",
    "stage task-runner-stage-12345678901234567890 failed",
    "model hf_model_name_for_tests loaded",
    "mailto:ops@example.com",
    "db.internal:5432 refused",
    "git@github.com:org/repo.git",
    "retry at 10:30:15",
    "http://example.com:8080/path?page=2&sort=asc",
    "--password-file /run/secrets/db missing",
    "--verbose --dry-run",
    "tests passed=3 failed=0 pinned=true",
    "author=ann keyboard=us monkey=george opinion=none signed_off=bob",
    "signal: SIGTERM",
    "the signature is valid",
    "pin: 3.2.1",
    "compass=north spinner=on design=flat",
)


@given(text=st.sampled_from(BENIGN_TEXTS), around=st.sampled_from(AROUND))
@settings(max_examples=100, deadline=None)
def test_benign_text_near_each_rule_stays(text: str, around: tuple[str, str]) -> None:
    before, after = around
    redactor = Redactor()
    assert redactor.redact_text(before + text + after) == before + text + after
    assert redactor.hidden == 0


@given(
    name=st.sampled_from(NEAR_MISS_KEYS),
    value=st.text(ALNUM, min_size=4, max_size=12),
    sep=st.sampled_from(("=", ": ", "=")),
)
@settings(max_examples=100, deadline=None)
def test_near_miss_names_in_free_text_keep_their_values(name: str, value: str, sep: str) -> None:
    text = f"note {name}{sep}{value} done"
    assert Redactor().redact_text(text) == text

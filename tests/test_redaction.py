"""The redactor on its own: what it must hide, what it must leave alone, and how it counts."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from stabilize_cli.redaction import (
    MARK,
    MIN_LITERAL,
    DeclaredSecrets,
    Redactor,
    declarations,
    is_secret_key,
    values_under,
)

GITHUB = "ghp_" + "a1B2c3D4e5" * 4
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlX2hlcmU"
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretbody\n+/=line2\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWORD",
        "db_password",
        "passwd",
        "client_secret",
        "secrets",
        "access_token",
        "X-Auth-Token",
        "tokenizer",
        "apikey",
        "api_key",
        "X-Api-Key",
        "private_key",
        "privateKey",
        "credentials",
        "Authorization",
        "cookie",
        "Set-Cookie",
        "session_id",
        "sentry_dsn",
        "connection_string",
        "DATABASE_URL",
        "auth",
        "pwd",
        "key",
        "KEY",
        "ssh_key",
        "authKey",
        "OAuth",
        "pass\u200bword",
        # the families issue 13 found shown
        "passphrase",
        "db_pass",
        "DB_PASS",
        "smtpPass",
        "pin",
        "card_pin",
        "otp",
        "totp_seed",
        "mfa_code",
        "2fa_code",
        "signing_salt",
        "ssh_private",
        "card_number",
        "cc_number",
        "cvv",
        "signature",
        "X-Hub-Signature-256",
        "sig",
        "hmac",
        "hmac_sha256",
        "jwt",
        "MYSQL_PWD",
        "AccountKey",
        "key1",
        "pass2",
        "recovery_codes",
        "mnemonic",
    ],
)
def test_a_secret_key_name_is_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "author",
        "monkey",
        "keyboard",
        "keys",
        "authority",
        "name",
        "status",
        "error",
        "context",
        "duration_ms",
        "stage_count",
        "implementing_class",
        "canceled_by",
        "passage",
        "tokyo",
        "sessile",
        "",
        # near-misses of each family
        "pinned",
        "spinner",
        "opinion",
        "pinyin",
        "signed_off",
        "signal",
        "design",
        "assignment",
        "passed",
        "passenger",
        "compass",
        "bypass",
        "salty",
        "saltwater",
        "otplike",
        "jwtish",
        "hmacs",
        "cookbook",
        "authored_by",
        "donkey",
        "mfaq",
        "sigma",
        "pwned",
    ],
)
def test_an_ordinary_key_name_is_not_a_secret(key: str) -> None:
    assert not is_secret_key(key)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgres://u:pw@h/db", "postgres://u:***@h/db"),
        (
            "dial postgres://app:s3cr3t@db.internal:5432/x failed",
            "dial postgres://app:***@db.internal:5432/x failed",
        ),
        ("https://tok3n@github.com/org/repo", "https://***@github.com/org/repo"),
        ("mysql://u:p@ss@h/db", "mysql://u:***@h/db"),
        ("GET https://h/x?token=abc&x=1", "GET https://h/x?token=***&x=1"),
        ("https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"),
        ("https://h/x?api_key=k1&key=k2&page=2", "https://h/x?api_key=***&key=***&page=2"),
        ("Authorization: Bearer abc123def456", "Authorization: Bearer ***"),
        ("sent Bearer abc123def456 upstream", "sent Bearer *** upstream"),
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic ***"),
        (f"jwt {JWT} rejected", "jwt *** rejected"),
        (f"Bearer {JWT}", "Bearer ***"),
        (PEM, "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----"),
        (
            "cut -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk",
            "cut -----BEGIN OPENSSH PRIVATE KEY-----***",
        ),
        ("key id AKIAIOSFODNN7EXAMPLE used", "key id AKIA*** used"),
        ("ASIAY34FZKBOKMUTVV7A", "ASIA***"),
        (f"push with {GITHUB} denied", "push with ghp_*** denied"),
        ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "gho_***"),
        ("ghs_abcdefghijklmnop1234", "ghs_***"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijkl", "github_pat_***"),
        ("slack xoxb-123456789012-abcdefghij failed", "slack xoxb-*** failed"),
        ("xoxp-1234-5678-abcd", "xoxp-***"),
        ("connect failed: password=hunter2 host=db", "connect failed: password=*** host=db"),
        ("{'password': 'hunter2', 'user': 'bob'}", "{'password': '***', 'user': 'bob'}"),
        ('{"db_password": "hunter2"}', '{"db_password": "***"}'),
        ("client_secret: abc", "client_secret: ***"),
        ("header Authorization: Token abc123", "header Authorization: Token ***"),
        # the free-text forms issue 13 found shown
        ("mysql --password S3CRET -h db", "mysql --password *** -h db"),
        ("deploy --token=S3CRET", "deploy --token=***"),
        ("curl -u admin:S3CRET https://x", "curl -u admin:*** https://x"),
        ("curl --user=admin:S3CRET", "curl --user=admin:***"),
        ("DB_PASS=S3CRET make migrate", "DB_PASS=*** make migrate"),
        ("MYSQL_PWD=S3CRET mysql", "MYSQL_PWD=*** mysql"),
        ("openssl passphrase=S3CRET", "openssl passphrase=***"),
        ("the password is S3CRET.", "the password is ***."),
        ("The passphrase was 'open sesame'", "The passphrase was '***'"),
        ("rsync deploy:S3CRET@backup:/srv", "rsync deploy:***@backup:/srv"),
        ("postgres://app:S3/CR#ET@db/x", "postgres://app:***@db/x"),
        ("postgres://app:1234567/x@db/x", "postgres://app:***@db/x"),  # too long for a port
        ("failed: db_pass: S3CRET", "failed: db_pass: ***"),
        ('{"mfa_code": "123456", "ok": null}', '{"mfa_code": "***", "ok": null}'),
        (
            "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=AbC%2Fd%3D&se=1",
            "https://a.blob.core.windows.net/c?sv=2022-11-02&sig=***&se=1",
        ),
        ("AccountName=a;AccountKey=AbC+dE/GhI==;Suffix=x", "AccountName=a;AccountKey=***;Suffix=x"),
        ("(see https://h/x?token=abc123)", "(see https://h/x?token=***)"),
        # vendor tokens
        ("key sk_live_51H8abcdEFGHijklMNOPqrst", "key sk_live_***"),
        ("rk_live_51H8abcdEFGHijklMNOPqrst", "rk_live_***"),
        ("sk-proj-AbCdEf0123456789abcdefGHIJ", "sk-proj-***"),
        ("sk-AbCdEf0123456789abcdefGHIJkl", "sk-***"),
        ("glpat-AbCdEf0123456789abcd", "glpat-***"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstu", "AIza***"),
        ("npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm_***"),
        ("hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "hf_***"),
        (
            "post https://hooks.slack.com/services/T0000000A/B0000000B/XXXXXXXXXXXXXXXXXXXXXXXX.",
            "post https://hooks.slack.com/services/T0000000A/B0000000B/***.",
        ),
    ],
)
def test_a_secret_inside_text_is_hidden_and_only_the_secret_part(text: str, shown: str) -> None:
    assert Redactor().redact_text(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Basic configuration failed",
        "Bearer tokens expire",
        "Task failed: session expired",
        "KeyError: 'region'",
        "missing key: region",
        "the author signed it",
        "https://hooks.example/path?page=2&sort=asc",
        "http://example.com/a/b",
        "ConnectionError: [Errno 111] Connection refused",
        'Traceback (most recent call last):\n  File "x.py", line 3',
        "2026-11-28T15:04:44.991242+00:00",
        "01M8HAZVN51R0GZ2NVTT2DCYFJ",
        "deploy-pipeline",
        "ghp_short",
        "AKIA1234",
        "user@example.com",
        "eyJhbGciOiJIUzI1NiJ9",
        "***",
        "",
        # near-misses of the free-text rules
        "the password is incorrect",
        "the token was expired",
        "pin: 3.2.1",
        "pip install scikit-learn sk-learn",
        "hf_model_name_for_tests",
        "mailto:ops@example.com",
        "git@github.com:org/repo.git",
        "db.internal:5432@primary",
        "https://host:8080/path?email=a@b.example",
        "--password-file /run/secrets/db",
        "--verbose --dry-run",
        "author=ann keyboard=us monkey=george pinned=true opinion=x signed_off=bob",
        "passed=3 signal=TERM design=flat",
        'the "token": null',
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    redactor = Redactor()
    assert redactor.redact_text(text) == text
    assert redactor.hidden == 0


def test_values_under_secret_keys_are_hidden_at_every_level() -> None:
    value = {
        "password": "hunter2",
        "nested": [{"api_key": {"a": 1}}, {"Token": 42}, {"author": "ann"}],
        "context": {"db": {"credentials": ["u", "p"], "host": "db"}},
    }
    assert Redactor().redact_value(value) == {
        "password": MARK,
        "nested": [{"api_key": MARK}, {"Token": MARK}, {"author": "ann"}],
        "context": {"db": {"credentials": MARK, "host": "db"}},
    }


def test_an_absent_or_empty_secret_hides_nothing() -> None:
    redactor = Redactor()
    assert redactor.redact_value({"password": None, "token": ""}) == {
        "password": None,
        "token": "",
    }
    assert redactor.hidden == 0


def test_the_key_argument_hides_a_whole_value() -> None:
    assert Redactor().redact_value({"a": 1}, key="client_secret") == MARK
    assert Redactor().redact_value("plain", key="author") == "plain"


def test_the_input_is_not_changed() -> None:
    value = {"password": "x", "list": [{"token": "y"}]}
    Redactor().redact_value(value)
    assert value == {"password": "x", "list": [{"token": "y"}]}


def test_nesting_ten_thousand_deep_is_walked_to_the_bottom() -> None:
    deep: dict[str, Any] = {"password": "hunter2", "note": "pw postgres://u:pw@h"}
    for _ in range(10_000):
        deep = {"a": [deep]}
    out = Redactor().redact_value(deep)
    for _ in range(10_000):
        out = out["a"][0]
    assert out == {"password": MARK, "note": "pw postgres://u:***@h"}


def test_a_cycle_does_not_loop_forever() -> None:
    loop: dict[str, Any] = {"token": "t0k3n"}
    loop["self"] = loop
    out = Redactor().redact_value(loop)
    assert out["token"] == MARK
    assert out["self"] is out


def test_a_cycle_without_secrets_is_returned_as_it_is() -> None:
    loop: dict[str, Any] = {"name": "x"}
    loop["self"] = loop
    assert Redactor().redact_value(loop) is loop


@pytest.mark.parametrize(
    "text",
    [
        "a." * 50_000 + "=",
        "a-" * 50_000 + ":",
        "a://" * 25_000,
        "eyJ-" * 25_000,
        "token" * 20_000 + ":",
        "token." * 20_000,
        "Bearer a1" * 20_000,
        '"password": "' + "a" * 100_000,
        "https://" + "a" * 100_000 + "@",
        "-----BEGIN PRIVATE KEY-----" * 4_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_hostile_long_text_is_redacted_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    Redactor().redact_text(text)
    assert time.perf_counter() - started < 2.0


def test_keys_that_hold_a_secret_are_redacted_without_losing_entries() -> None:
    out = Redactor().redact_value({f"Bearer {GITHUB}": 1, "Bearer ghp_***": 2})
    assert sorted(out.values()) == [1, 2]
    assert not any(GITHUB in key for key in out)


def test_every_hidden_value_is_counted() -> None:
    redactor = Redactor()
    redactor.redact_value({"password": "a", "url": "postgres://u:pw@h", "n": [GITHUB, JWT]})
    assert redactor.hidden == 4


def test_a_value_redacted_again_under_the_same_origin_is_counted_once() -> None:
    redactor = Redactor()
    for _ in range(3):
        redactor.redact_value({"password": "a"}, origin=("event", 7))
    redactor.redact_value({"password": "a"}, origin=("event", 8))
    assert redactor.hidden == 2


def test_text_already_redacted_is_not_counted_again() -> None:
    redactor = Redactor()
    once = redactor.redact_text("postgres://u:pw@h Bearer abc123def456")
    redactor.redact_text(once)
    assert redactor.hidden == 2


def test_counting_is_safe_across_threads() -> None:
    redactor = Redactor()

    def work() -> None:
        for _ in range(500):
            redactor.redact_value({"token": "x"})

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redactor.hidden == 2000


def test_a_disabled_redactor_passes_everything_through() -> None:
    redactor = Redactor(enabled=False)
    value = {"password": "hunter2", "url": "postgres://u:pw@h"}
    assert redactor.redact_value(value) is value
    assert redactor.redact_webhook_url("https://u:p@h/x?sig=1") == "https://u:p@h/x?sig=1"
    assert redactor.hidden == 0


# -- declared secrets ---------------------------------------------------------------------


def test_declared_keys_are_hidden_whatever_their_name() -> None:
    secrets = DeclaredSecrets.build(["DB_Pass"], [])
    out = Redactor().redact_value({"db_pass": "x", "deep": [{"DB_PASS": 1}]}, secrets=secrets)
    assert out == {"db_pass": MARK, "deep": [{"DB_PASS": MARK}]}


def test_declared_values_are_hidden_inside_any_string() -> None:
    secrets = DeclaredSecrets.build(["db_pass"], ["hunter22", "hunter22-extended"])
    out = Redactor().redact_value(
        {"error": "login hunter22-extended failed (hunter22)"}, secrets=secrets
    )
    assert out == {"error": "login *** failed (***)"}


def test_short_and_empty_declared_values_are_never_searched_for() -> None:
    secrets = DeclaredSecrets.build(["pin"], ["", "a", "123", "x" * MIN_LITERAL])
    assert secrets.values == ("x" * MIN_LITERAL,)
    redactor = Redactor()
    assert redactor.redact_value({"pin": "123", "note": "a 123"}, secrets=secrets) == {
        "pin": MARK,
        "note": "a 123",
    }


def test_declarations_are_found_at_any_depth_in_every_form() -> None:
    payload = {
        "context": {
            "secrets": ["db_password", "api"],
            "stage": {"Secrets": "single", "other": {"secrets": {"inline": "v4lue", "n": 9876}}},
        }
    }
    names, values = declarations(payload)
    assert names == {"db_password", "api", "single", "inline", "n"}
    assert sorted(values) == ["9876", "v4lue"]


def test_values_under_declared_names_are_collected_from_leaves() -> None:
    payload = {"a": {"DB_PASSWORD": "p4ss", "list": [{"db_password": {"x": 1234}}]}}
    assert sorted(values_under(payload, frozenset({"db_password"}))) == ["1234", "p4ss"]


# -- webhook URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/path", "https://hooks.example/path"),
        ("https://u:p@h.example/x?token=abc", "https://***@h.example/x?token=***"),
        (
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/services/T00000000/B00000000/***",
        ),
        (
            "https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIj_KlMn0123456789",
            "https://discord.com/api/webhooks/123456789012345678/***",
        ),
    ],
)
def test_a_webhook_url_keeps_only_its_plain_parts(url: str, shown: str) -> None:
    assert Redactor().redact_webhook_url(url) == shown

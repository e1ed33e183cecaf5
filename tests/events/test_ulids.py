"""The one ULID helper: what it makes reads back, and it recognises only ULIDs."""

from __future__ import annotations

import time
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.events.ulids import UlidSource, encode, is_ulid, new_ulid, timestamp_ms

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # written out here, not taken from the helper
MS = st.integers(min_value=0, max_value=2**48 - 1)
RANDOMNESS = st.integers(min_value=0, max_value=2**80 - 1)


def reference(ms: int, randomness: int) -> str:
    value = (ms << 80) | randomness
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@given(MS, RANDOMNESS)
def test_encode_is_crockford_base32_of_the_128_bits(ms: int, randomness: int) -> None:
    text = encode(ms, randomness)
    assert text == reference(ms, randomness)
    assert is_ulid(text)
    assert is_ulid(text.lower())
    assert timestamp_ms(text) == timestamp_ms(text.lower()) == ms


@given(MS, MS, RANDOMNESS)
def test_ids_sort_by_their_millisecond(a: int, b: int, randomness: int) -> None:
    if a < b:
        assert encode(a, randomness) < encode(b, 0)


@given(st.text(max_size=30))
def test_only_26_crockford_characters_starting_0_to_7_are_ulids(text: str) -> None:
    expected = (
        len(text) == 26
        and all(c in ALPHABET for c in text.upper())
        and text.isascii()
        and text[0] in "01234567"
    )
    assert is_ulid(text) == expected


def test_characters_crockford_leaves_out_are_refused() -> None:
    good = encode(1_795_000_000_000, 12345)
    for bad in "ILOU":
        assert not is_ulid(good[:-1] + bad)
    assert not is_ulid("8" + good[1:])
    assert not is_ulid(good + "0")
    assert not is_ulid(None)


def test_new_ids_carry_the_time_they_were_made() -> None:
    before = time.time_ns() // 1_000_000
    made = new_ulid()
    after = time.time_ns() // 1_000_000
    assert is_ulid(made)
    assert before <= timestamp_ms(made) <= after
    assert len({new_ulid() for _ in range(1000)}) == 1000


def test_a_seeded_source_is_monotonic_and_repeatable() -> None:
    moments = [5, 5, 5, 6, 6, 100, 100]
    first = [UlidSource(Random(3)).at(ms) for ms in moments]
    source, again = UlidSource(Random(3)), UlidSource(Random(3))
    made = [source.at(ms) for ms in moments]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert made == [again.at(ms) for ms in moments]
    assert [timestamp_ms(m) for m in made] == moments
    assert first[0] == made[0]


@given(MS, RANDOMNESS)
def test_the_time_read_back_is_the_one_python_ulid_reads(ms: int, randomness: int) -> None:
    from ulid import ULID

    text = reference(ms, randomness)
    assert timestamp_ms(text) == ULID.from_str(text).milliseconds == ms

"""What damaged pages left out, as ranges: merged so that one page is named once, however
many reads met it and whatever their filters (a property over any ranges)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.events.store.raw import ReadNotes, merged, ranges_text

END = 200
ranges = st.lists(
    st.tuples(st.integers(1, END), st.one_of(st.none(), st.integers(1, END))).map(
        lambda r: r if r[1] is None or r[1] >= r[0] else (r[1], r[0])
    ),
    max_size=8,
)


def covered(spans: list[tuple[int, int | None]]) -> set[int]:
    return {s for a, b in spans for s in range(a, (END if b is None else b) + 1)}


@given(ranges)
def test_merged_ranges_cover_the_same_sequences_once_in_order(
    spans: list[tuple[int, int | None]],
) -> None:
    out = merged(spans)
    assert covered(out) == covered(spans)
    for (_, end), (start, _) in pairwise(out):
        assert end is not None
        assert start > end + 1  # disjoint, not adjacent, ascending
    assert sum(1 for _, b in out if b is None) <= 1


@given(ranges)
def test_notes_keep_merged_ranges_and_name_them(spans: list[tuple[int, int | None]]) -> None:
    notes = ReadNotes()
    for first, last in spans:
        notes.met_damage(first, last)
    assert notes.damaged == merged(spans)
    if notes.damaged:
        text = ranges_text(notes.damaged)
        assert text.startswith("event")
        assert str(notes.damaged[0][0]) in text


def test_a_range_reads_as_a_user_would_say_it() -> None:
    assert ranges_text([(65, 77)]) == "events 65-77"
    assert ranges_text([(5, 5)]) == "event 5"
    assert ranges_text([(188, None), (1, 3)]) == "events 1-3 and 188 on"

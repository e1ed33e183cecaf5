"""value_changes: a difference for every key that differs, none for equal values."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.runs.compare import Duration, value_changes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.dictionaries(st.text(max_size=3), inner, max_size=4) | st.lists(inner, max_size=3)
    ),
    max_leaves=12,
)


def apply(value: Any, changes: list[Any]) -> Any:
    """Replay the changes on ``value``: the result must be the other side."""
    for change in changes:
        if not change.path:
            value = change.after
            continue
        target = value
        for key in change.path[:-1]:
            target = target[key]
        if change.op == "removed":
            del target[change.path[-1]]
        else:
            target[change.path[-1]] = change.after
    return value


@given(json_values)
def test_a_value_has_no_difference_with_itself(value: Any) -> None:
    assert value_changes(value, value) == []


@given(
    st.dictionaries(st.text(max_size=3), json_values, max_size=5),
    st.dictionaries(st.text(max_size=3), json_values, max_size=5),
)
def test_the_changes_turn_b_into_a(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert apply(copy.deepcopy(before), value_changes(before, after)) == after


def test_a_percentage_needs_a_non_zero_before() -> None:
    assert Duration(0, 10).percent is None
    assert Duration(200, 150).delta_ms == -50
    assert Duration(200, 150).percent == -25.0
    assert Duration(None, 150).delta_ms is None

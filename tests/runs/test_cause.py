"""Where a stage's real cause is read from, for any context the engine could leave."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.runs.cause import stage_cause, tail
from stabilize_cli.runs.model import StageRow, TaskRow

FAILED = ["TERMINAL", "FAILED_CONTINUE", "STOPPED"]
NOT_FAILED = ["SUCCEEDED", "RUNNING", "NOT_STARTED", "CANCELED", "SKIPPED", "PAUSED"]
texts = st.text(max_size=30)
contexts = st.dictionaries(
    st.sampled_from(["error", "stderr", "stdout", "exit_code", "returncode", "exception", "x"]),
    texts
    | st.integers()
    | st.fixed_dictionaries({"details": st.fixed_dictionaries({"error": texts})}),
)


def stage(
    status: str, context: Any, outputs: Any = None, tasks: tuple[TaskRow, ...] = ()
) -> StageRow:
    return StageRow(
        id="s",
        ref_id="r",
        type="t",
        name="n",
        status=status,
        context=context,
        outputs=outputs or {},
        requires=(),
        parent_stage_id=None,
        start_time=None,
        end_time=None,
        version=None,
        join_type=None,
        tasks=tasks,
    )


@given(st.sampled_from(NOT_FAILED), contexts)
def test_a_stage_whose_row_did_not_fail_has_no_cause_whatever_its_context_holds(
    status: str, context: dict[str, Any]
) -> None:
    assert stage_cause(stage(status, context)) is None


@given(st.sampled_from(FAILED), texts, texts)
def test_output_copied_from_an_upstream_script_is_never_the_cause(
    status: str, upstream_stderr: str, message: str
) -> None:
    context = {
        "stdout": "upstream",
        "stderr": upstream_stderr,
        "exit_code": 1,
        "_hydrated_keys": ["stdout", "stderr", "exit_code"],
        "error": f"gate: {message}",
    }
    cause = stage_cause(stage(status, context))
    assert cause is not None
    assert (cause.kind, cause.message) == ("error", f"gate: {message}")


def test_a_failed_script_overwrites_the_keys_it_was_given() -> None:
    """real-small.db: the stage's own stderr, still listed in _hydrated_keys."""
    context = {
        "stdout": "",
        "stderr": "Traceback ...\nRuntimeError: compiler exploded\n",
        "exit_code": 1,
        "_hydrated_keys": ["exit_code", "stderr", "stdout"],
        "error": "Python script failed with exit code 1: Traceback ...",
    }
    cause = stage_cause(stage("TERMINAL", context))
    assert cause is not None
    assert (cause.kind, cause.exit_code, cause.summary) == (
        "script",
        1,
        "RuntimeError: compiler exploded",
    )


def test_the_task_row_wins_for_an_is_enabled_error() -> None:
    details = {"exception": {"details": {"error": "is_enabled raised KeyError: 'f'"}}}
    task = TaskRow("t", "s", "gate", "Gate", "TERMINAL", None, None, details, 2)
    cause = stage_cause(stage("TERMINAL", {"error": "other"}, tasks=(task,)))
    assert cause is not None
    assert (cause.kind, cause.message) == ("is_enabled", "is_enabled raised KeyError: 'f'")


@given(st.lists(st.text(alphabet="ab \t", max_size=5), max_size=40), st.integers(1, 15))
def test_a_tail_keeps_the_last_lines_and_counts_the_rest(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    shown = tail(text, limit)
    every = text.rstrip("\n").splitlines()
    assert list(shown.lines) == (every[-limit:] if len(every) > limit else every)
    assert shown.left_out == max(0, len(every) - limit)

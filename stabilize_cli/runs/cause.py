"""Where the engine put a failure's real text, read back as one ``Cause``.

The events of a failed task say ``"Task failed"`` and its stage ``"Unknown error"``; the
engine writes the real text into its tables (stabilize-format.md, "Where the error text
is"): a script's stdout/stderr/exit code or a command's returncode in the stage's
``context`` (``outputs`` for a soft failure), an exception's text and code under
``context.exception.details``, an ``is_enabled`` error in ``task_exception_details``.

Context keys outlive the run that wrote them, so only a stage whose row says it failed has
a cause; keys copied in from upstream stages (``_hydrated_keys``) are never its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .model import StageRow, TaskRow

FAILED = frozenset({"TERMINAL", "FAILED_CONTINUE", "STOPPED"})
TAIL_LINES = 10
"""Lines of long output shown by default (``--full`` shows all)."""


@dataclass(frozen=True)
class Cause:
    """A failure's real cause: which table and column it came from, and its fields."""

    source: str
    """``stage_executions.context``, ``stage_executions.outputs`` or
    ``task_executions.task_exception_details``."""
    kind: str
    """``script`` (exit code and output), ``command`` (a shell returncode), ``exception``,
    ``is_enabled`` or ``error`` (a message the task returned)."""
    message: Any
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> Any:
        return self.fields.get("exit_code", self.fields.get("returncode"))

    @property
    def summary(self) -> str:
        """One line: the last line of stderr for a traceback, else the message's first."""
        stderr = self.fields.get("stderr")
        if isinstance(stderr, str) and stderr.strip():
            return last_line(stderr)
        message = self.message
        if isinstance(message, str) and message.strip():
            return message.strip().splitlines()[0]
        return "" if message is None else str(message)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "message": self.message,
            "summary": self.summary,
            "fields": dict(self.fields),
        }


def last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


@dataclass(frozen=True)
class Tail:
    """The last lines of an output, and how many came before them."""

    lines: tuple[str, ...]
    left_out: int


def tail(output: str, limit: int | None = TAIL_LINES) -> Tail:
    lines = output.rstrip("\n").splitlines()
    if limit is None or len(lines) <= limit:
        return Tail(tuple(lines), 0)
    return Tail(tuple(lines[-limit:]), len(lines) - limit)


OUTPUT_FAILURES = ("Python script failed with exit code", "Command exited with code")
"""How the engine's PythonTask and ShellTask begin ``error`` when they write their output."""


def _own(values: Any) -> dict[str, Any]:
    """A context without the keys copied in from upstream stages.

    A script or command that failed overwrites the output keys an upstream script's run
    copied in (they stay listed in ``_hydrated_keys``): its ``error`` says so.
    """
    if not isinstance(values, dict):
        return {}
    error = values.get("error")
    if isinstance(error, str) and error.startswith(OUTPUT_FAILURES):
        return {str(k): v for k, v in values.items()}
    hydrated = values.get("_hydrated_keys")
    copied = {str(k) for k in hydrated} if isinstance(hydrated, list) else set()
    return {str(k): v for k, v in values.items() if str(k) not in copied}


def _details(value: Any) -> dict[str, Any] | None:
    """``{"exception": {"details": {...}}}`` or ``{"details": {...}}`` -> the details."""
    if isinstance(value, dict) and isinstance(value.get("exception"), dict):
        value = value["exception"]
    if isinstance(value, dict) and isinstance(value.get("details"), dict):
        return dict(value["details"])
    return None


_OUTPUT_KEYS = ("exit_code", "returncode", "stdout", "stderr", "truncated")


def _from_values(values: dict[str, Any], source: str) -> Cause | None:
    kind = "script" if "exit_code" in values else "command" if "returncode" in values else None
    if kind is not None and ("stderr" in values or "stdout" in values):
        fields = {k: values[k] for k in _OUTPUT_KEYS if k in values}
        return Cause(source, kind, values.get("error"), fields)
    details = _details(values)
    if details is not None:
        fields = {k: details[k] for k in ("error_code", "transient") if k in details}
        return Cause(source, "exception", details.get("error"), fields)
    if values.get("error") is not None:
        return Cause(source, "error", values.get("error"))
    return None


def task_cause(task: TaskRow) -> Cause | None:
    """An ``is_enabled`` error: the one case the engine fills ``task_exception_details``."""
    if task.status not in FAILED:
        return None
    details = _details(task.exception_details)
    if details is None:
        return None
    fields = {k: details[k] for k in ("error_code",) if k in details}
    source = "task_executions.task_exception_details"
    return Cause(source, "is_enabled", details.get("error"), fields)


def stage_cause(stage: StageRow) -> Cause | None:
    """The real cause of a stage whose row says it failed; None when it did not fail."""
    if stage.status not in FAILED:
        return None
    for task in stage.tasks:
        found = task_cause(task)
        if found is not None:
            return found
    context = _from_values(_own(stage.context), "stage_executions.context")
    outputs = _from_values(_own(stage.outputs), "stage_executions.outputs")
    for found in (context, outputs):
        if found is not None and found.kind != "error":
            if found.message is None and context is not None:
                return replace(found, message=context.message)
            return found
    return context or outputs


def leftover_cause(stage: StageRow) -> Cause | None:
    """What a stage that failed and then succeeded after a restart left in its context.

    Only shown on the attempt that failed, labelled as left by an earlier run: the
    row keeps the last run's status, and these keys survive it.
    """
    if stage.status in FAILED:
        return None
    return _from_values(_own(stage.context), "stage_executions.context")

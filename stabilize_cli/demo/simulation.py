"""How the engine would have run one workflow, as timed calls to the recorder.

Nothing runs: durations, handler delays and operators come from the seeded RNG, and
each event is a :class:`Step` at a simulated microsecond. The engine's ordering holds:
a stage's tasks start after the stage, tasks end before their stage, the workflow ends
last; on cancel, the running task gets no completion event
(../shared/real-stabilize/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from ..events.recorder import StageRecord, TaskRecord, WorkflowRecord
from .shapes import ERRORS, OPERATORS, OUTPUTS, RETRY_ERRORS, Fate, Shape, StageSpec

US = 1000
"""Microseconds per millisecond: the clock counts microseconds, payload times are ms."""


@dataclass
class Step:
    """One recorder call at a simulated moment; ``cause`` names the entity whose last event
    caused it, ``updates`` are attributes the record has as of this moment."""

    at: int
    method: str
    args: tuple[Any, ...]
    cause: str | None
    actor: str = "system"
    handler: str | None = None
    updates: dict[str, Any] = field(default_factory=dict)


class Run:
    """One workflow, simulated as timed recorder calls."""

    def __init__(
        self, shape: Shape, app: str, fate: Fate, rng: Random, new_id: Callable[[int], str]
    ) -> None:
        self.shape, self.fate, self.rng, self.app = shape, fate, rng, app
        self.steps: list[Step] = []
        self.actor = shape.actor or rng.choice(OPERATORS)
        self.version = f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        self.new_id = new_id
        self.wf = WorkflowRecord(
            id="", application=app, name=shape.name, trigger_type=shape.trigger
        )
        self.stages: dict[str, StageRecord] = {}
        self.started: dict[str, int] = {}
        self.error = ""
        self.resumed_at: int | None = None
        self.cancel_at: int | None = None

    def _add(self, at: int, method: str, *args: Any, cause: str | None, **how: Any) -> None:
        self.steps.append(Step(at, method, args, cause, **how))

    def _hop(self) -> int:
        """A handler-to-handler delay of the engine's queue, in microseconds."""
        return self.rng.randint(8_000, 45_000)

    def _duration(self, median_ms: int) -> int:
        slow = 3.0 if self.rng.random() < 0.05 else 1.0
        return int(median_ms * US * slow * self.rng.lognormvariate(0, 0.35))

    def _build(self, at: int) -> None:
        ms = at // US
        self.wf.id = self.new_id(ms)
        for spec in self.shape.stages:
            stage = StageRecord(
                id=self.new_id(ms),
                ref_id=spec.ref,
                name=spec.name,
                type=spec.type,
                workflow_id=self.wf.id,
                requisite_stage_ref_ids=list(spec.after),
            )
            stage.tasks = [
                TaskRecord(
                    id=self.new_id(ms),
                    name=t.name,
                    stage_id=stage.id,
                    implementing_class=t.implementing_class,
                )
                for t in spec.tasks
            ]
            self.stages[spec.ref] = stage
        self.wf.stages = list(self.stages.values())
        self.wf.context = {
            "triggered_by": self.actor,
            "version": self.version,
            "git_sha": f"{self.rng.getrandbits(40):010x}",
            "branch": "main",
        }

    def simulate(self, at: int) -> None:
        self._build(at)
        wf, start = self.wf, "StartWorkflowHandler"
        self._add(at, "record_workflow_created", wf, cause=None, actor=self.actor, handler=start)
        at += self.rng.randint(600, 2_500)
        wf.start_time = at // US
        self._add(at, "record_workflow_started", wf, cause=wf.id, actor=self.actor, handler=start)
        ends: dict[str, tuple[int, str]] = {}
        for spec in self.shape.stages:
            ends[spec.ref] = self._schedule(spec, ends, at)
        if self.cancel_at is not None:
            self._cancel(self.cancel_at, ends)
        else:
            self._finish(ends)

    def _schedule(
        self, spec: StageSpec, ends: dict[str, tuple[int, str]], at: int
    ) -> tuple[int, str]:
        if any(ends[ref][1] in ("failed", "blocked") for ref in spec.after):
            return (0, "blocked")
        last = max(spec.after, key=lambda ref: ends[ref][0], default=None)
        ready = ends[last][0] if last else at
        if self.fate.pause_after in spec.after:
            ready = max(ready, self._pause(ends[self.fate.pause_after][0]))
        start = ready + self._hop()
        cause = self.stages[last].id if last else self.wf.id
        stage = self.stages[spec.ref]
        self.started[spec.ref] = start
        if spec.ref == self.fate.skip:
            reason = f"stage condition 'publish_{spec.ref}' evaluated to false"
            self._add(
                start,
                "record_stage_skipped",
                stage,
                reason,
                cause=cause,
                handler="SkipStageHandler",
            )
            return (start, "skipped")
        return self._run_stage(spec, stage, start, cause)

    def _run_stage(
        self, spec: StageSpec, stage: StageRecord, at: int, cause: str
    ) -> tuple[int, str]:
        stage.start_time = at // US
        self._add(at, "record_stage_started", stage, cause=cause, handler="StartStageHandler")
        previous = stage.id
        for index, task in enumerate(stage.tasks):
            at = self._run_task(spec, index, stage, at, previous)
            previous = task.id
        at += self._hop()
        stage.end_time = at // US
        end = "CompleteStageHandler"
        if self._fails(spec, len(spec.tasks) - 1):
            stage.status = "TERMINAL"
            self._add(at, "record_stage_failed", stage, self.error, cause=previous, handler=end)
            return (at, "failed")
        stage.status = "SUCCEEDED"
        self._add(at, "record_stage_completed", stage, cause=previous, handler=end)
        return (at, "succeeded")

    def _fails(self, spec: StageSpec, index: int) -> bool:
        """A failing stage fails in its last task."""
        return spec.ref == self.fate.fail and index == len(spec.tasks) - 1

    def _run_task(
        self, spec: StageSpec, index: int, stage: StageRecord, at: int, cause: str
    ) -> int:
        task = stage.tasks[index]
        at += self._hop()
        task.start_time = at // US
        self._add(
            at, "record_task_started", task, self.wf.id, cause=cause, handler="StartTaskHandler"
        )
        duration = self._duration(spec.tasks[index].median_ms)
        if index == 0 and spec.ref == self.fate.cancel_during:
            self.cancel_at = at + duration * 2 // 5
        if index == 0 and spec.ref == self.fate.retry:
            at = self._retries(task, at)
        at += duration
        task.end_time = at // US
        self._end_task(task, stage, at, self._fails(spec, index))
        return at

    def _end_task(self, task: TaskRecord, stage: StageRecord, at: int, failed: bool) -> None:
        end = "CompleteTaskHandler"
        if failed:
            kind, make = ERRORS[self.fate.error]
            self.error = make(self.rng, self.app)
            task.status = "TERMINAL"
            task.exception_details = {"type": kind, "retryable": False}
            self._add(
                at, "record_task_failed", task, self.wf.id, self.error, cause=task.id, handler=end
            )
            return
        outputs = OUTPUTS[task.implementing_class](self.rng, self.app, self.version)
        task.status, task.outputs = "SUCCEEDED", outputs
        stage.outputs.update(outputs)
        self._add(
            at, "record_task_completed", task, self.wf.id, outputs, cause=task.id, handler=end
        )

    def _retries(self, task: TaskRecord, at: int) -> int:
        for attempt, error in enumerate(RETRY_ERRORS, start=1):
            at += self._duration(4_000)  # the failed call and the engine's backoff
            self._add(
                at,
                "record_task_retried",
                task,
                self.wf.id,
                attempt,
                cause=task.id,
                handler="RunTaskHandler",
                updates={"last_error": error},
            )
        return at

    def _pause(self, after: int) -> int:
        if self.resumed_at is None:
            operator, wf = self.rng.choice(OPERATORS), self.wf
            paused = after + self.rng.randint(20, 90) * 1_000_000 + self.rng.randint(0, 999_999)
            self.resumed_at = paused + self.rng.randint(8 * 60_000_000, 25 * 60_000_000)
            wf.paused_by, wf.pause_time = operator, paused // US
            wf.paused_ms = (self.resumed_at - paused) // US
            self._add(paused, "record_workflow_paused", wf, cause=wf.id, actor=operator)
            self._add(self.resumed_at, "record_workflow_resumed", wf, cause=wf.id, actor=operator)
        return self.resumed_at

    def _cancel(self, at: int, ends: dict[str, tuple[int, str]]) -> None:
        """What the engine writes: the running and the unstarted stages get ``stage.canceled``,
        the running task no completion event, then ``workflow.canceled``."""
        self.steps = [s for s in self.steps if s.at <= at]
        operator, wf, how = self.rng.choice(OPERATORS), self.wf, "CancelStageHandler"
        running = [r for r, s in self.started.items() if s <= at < ends[r][0]]
        unstarted = [r for r in self.stages if r not in self.started or self.started[r] > at]
        for ref in running + unstarted:
            at += self._hop()
            self._add(
                at,
                "record_stage_canceled",
                self.stages[ref],
                cause=wf.id,
                actor=operator,
                handler=how,
            )
        at += self._hop()
        wf.canceled_by, wf.end_time = operator, at // US
        wf.cancellation_reason = "superseded by a newer release"
        self._add(
            at,
            "record_workflow_canceled",
            wf,
            cause=wf.id,
            actor=operator,
            handler="CompleteWorkflowHandler",
        )

    def _finish(self, ends: dict[str, tuple[int, str]]) -> None:
        last = max(ends, key=lambda ref: ends[ref][0])
        at = ends[last][0] + self._hop()
        wf, cause, how = self.wf, self.stages[last].id, "CompleteWorkflowHandler"
        wf.end_time = at // US
        if any(outcome == "failed" for _, outcome in ends.values()):
            wf.status = "TERMINAL"
            error = "Workflow ended with status TERMINAL"
            self._add(at, "record_workflow_failed", wf, error, cause=cause, handler=how)
        else:
            wf.status = "SUCCEEDED"
            self._add(at, "record_workflow_completed", wf, cause=cause, handler=how)

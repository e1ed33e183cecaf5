"""The timeline as one self-contained HTML page: the chart inline, then the tables.

Nothing is fetched and nothing runs: inline CSS, the SVG inline, no script, and a
Content-Security-Policy that would refuse any script or remote resource even if one got in.
Every database value is escaped where it is written, errors in full in ``<pre>`` blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from ..events.timeutil import format_timestamp
from ..queries.timeline import StageLine, TaskLine, TimelineResult
from .durations import seconds
from .gantt import Chart, cause_text, text
from .gantt_svg import FONT, render_svg, xml

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = f"""
body {{ font-family: {FONT}; color: #1f2328; margin: 24px; max-width: 1240px; }}
h1 {{ font-size: 20px; margin: 0 0 4px; overflow-wrap: anywhere; }}
h2 {{ font-size: 16px; margin: 28px 0 8px; }}
.chart {{ overflow-x: auto; }}
.chart svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; table-layout: fixed; }}
td {{ overflow-wrap: anywhere; }}
th, td {{ text-align: left; vertical-align: top; padding: 4px 8px; }}
th, td {{ border-bottom: 1px solid #d8dee4; }}
th {{ background: #f6f8fa; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.name {{ overflow-wrap: anywhere; }}
tr.stage td.name {{ font-weight: 700; }}
tr.task td.name {{ padding-left: 28px; }}
pre {{ margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12px; }}
.failed {{ color: #82071e; font-weight: 700; }}
.ok {{ color: #1a7f37; font-weight: 700; }}
@media print {{ body {{ margin: 0; }} .chart {{ overflow: visible; }} }}
"""
_FAILED = frozenset({"TERMINAL", "FAILED", "STOPPED", "FAILED_CONTINUE", "CANCELED"})


def render_html(result: TimelineResult, chart: Chart) -> str:
    """The page; identical input gives identical bytes."""
    return "\n".join(_page(result, chart)) + "\n"


def _page(result: TimelineResult, chart: Chart) -> Iterator[str]:
    title = f"{chart.name} {chart.workflow_id} {chart.status} - stabilize timeline"
    yield "<!DOCTYPE html>"
    yield '<html lang="en">'
    yield "<head>"
    yield '<meta charset="utf-8">'
    yield f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
    yield '<meta name="viewport" content="width=device-width, initial-scale=1">'
    yield f"<title>{xml(title)}</title>"
    yield f"<style>{_STYLE}</style>"
    yield "</head>"
    yield "<body>"
    status = f'<span class="{_class(chart.status)}">{xml(chart.status)}</span>'
    yield f"<h1>{xml(chart.name)} {status}</h1>"
    yield '<div class="chart">'
    yield render_svg(chart).rstrip("\n")
    yield "</div>"
    yield from _ending(result)
    yield from _lines_table(result)
    yield from _events_table(result)
    yield "</body>"
    yield "</html>"


def _class(status: str) -> str:
    if status == "SUCCEEDED":
        return "ok"
    return "failed" if status in _FAILED else ""


def _ending(result: TimelineResult) -> Iterator[str]:
    ending = result.ending
    if ending.error is not None:
        yield "<h2>Workflow error</h2>"
        yield f"<pre>{xml(text(ending.error, multiline=True))}</pre>"
    if result.state.get("status") == "CANCELED":
        yield "<h2>Canceled</h2>"
        by = text(ending.canceled_by)
        reason = text(ending.reason, multiline=True)
        yield f"<p>by {xml(by)}</p><pre>{xml(reason)}</pre>"


def _offset(origin: datetime | None, when: datetime | None) -> str:
    if origin is None or when is None:
        return ""
    return "+" + seconds((when - origin).total_seconds() * 1000)


def _duration(line: StageLine | TaskLine) -> str:
    if line.start is None or line.end is None:
        return "running" if line.status == "RUNNING" else ""
    return seconds((line.end - line.start).total_seconds() * 1000)


def _sequences(line: StageLine | TaskLine) -> str:
    if line.sequences is None:
        return ""
    first, last = line.sequences
    return f"{first}" if first == last else f"{first}-{last}"


def _line_row(line: StageLine | TaskLine, kind: str, origin: datetime | None) -> str:
    status = text(line.status)
    retries = line.retry_count if isinstance(line, TaskLine) else 0
    notes = []
    if line.error is not None:
        notes.append(text(line.error, multiline=True))
    if line.cause is not None:
        notes.append("cause: " + cause_text(line.cause))
    if isinstance(line, StageLine) and line.earlier_cause is not None:
        notes.append("left by an earlier, failed run: " + cause_text(line.earlier_cause))
    if isinstance(line, StageLine) and line.status == "SKIPPED":
        notes.append("skipped: " + text(line.skip_reason, multiline=True))
    cells = [
        f'<td class="name">{xml(text(line.name))}</td>',
        f'<td class="{_class(status)}">{xml(status)}</td>',
        f'<td class="num">{_offset(origin, line.start)}</td>',
        f'<td class="num">{_duration(line)}</td>',
        f'<td class="num">{_sequences(line)}</td>',
        f'<td class="num">{retries or ""}</td>',
        f"<td>{''.join(f'<pre>{xml(n)}</pre>' for n in notes)}</td>",
    ]
    return f'<tr class="{kind}">{"".join(cells)}</tr>'


def _lines_table(result: TimelineResult) -> Iterator[str]:
    yield "<h2>Stages and tasks</h2>"
    yield "<table>"
    yield (
        '<colgroup><col style="width:22%"><col style="width:11%"><col style="width:7%">'
        '<col style="width:7%"><col style="width:8%"><col style="width:6%"><col></colgroup>'
        "<thead><tr><th>Stage / task</th><th>Status</th><th>Start</th><th>Duration</th>"
        "<th>Sequence</th><th>Retries</th><th>Error</th></tr></thead>"
    )
    yield "<tbody>"
    origin = result.start
    for stage in result.stages:
        yield _line_row(stage, "stage", origin)
        for task in stage.tasks:
            yield _line_row(task, "task", origin)
    for task in result.loose_tasks:
        yield _line_row(task, "stage", origin)
    yield "</tbody>"
    yield "</table>"


def _events_table(result: TimelineResult) -> Iterator[str]:
    yield "<h2>Events</h2>"
    yield "<table>"
    yield (
        '<colgroup><col style="width:19%"><col style="width:12%"><col style="width:7%">'
        '<col style="width:16%"><col style="width:9%"><col style="width:7%"><col></colgroup>'
        "<thead><tr><th>Time (UTC)</th><th>Event</th><th>Entity</th><th>Name</th>"
        "<th>Status</th><th>Duration</th><th>Details</th></tr></thead>"
    )
    yield "<tbody>"
    for entry in result.entries:
        duration = "" if entry.duration_ms is None else seconds(entry.duration_ms)
        details = {k: v for k, v in entry.details.items() if v is not None}
        shown = text(details, multiline=True) if details else ""
        cells = [
            f'<td class="num">{xml(format_timestamp(entry.timestamp))}</td>',
            f"<td>{xml(text(entry.event_type))}</td>",
            f"<td>{xml(text(entry.entity_type))}</td>",
            f'<td class="name">{xml(text(entry.entity_name))}</td>',
            f"<td>{xml(text(entry.status)) if entry.status is not None else ''}</td>",
            f'<td class="num">{duration}</td>',
            f"<td><pre>{xml(shown)}</pre></td>" if shown else "<td></td>",
        ]
        yield f"<tr>{''.join(cells)}</tr>"
    yield "</tbody>"
    yield "</table>"

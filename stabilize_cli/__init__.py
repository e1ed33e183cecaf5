"""stabilize-cli: audit and debug Stabilize's event store."""

__version__ = "0.1.0"

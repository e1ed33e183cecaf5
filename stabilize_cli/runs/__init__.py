"""A run's whole story beyond the events: the engine's workflow tables, real failure
causes, attempts across restarts, the stage graph, and comparing two runs.

Plain data and pure functions; the SQL that reads the tables lives in each backend's
``audit/<backend>/run_tables.py``.
"""

"""Benchmarks (not collected by pytest): see run_benchmarks.py."""

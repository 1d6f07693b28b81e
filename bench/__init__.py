"""Benchmarks of the media engine: load clients, latency, capacity and two baselines.

Run with ``make bench`` (or ``python -m bench``); results go to
``bench/results.json`` and a table in ``docs/performance.md``. Nothing here
is imported by the application, and no test asserts a speed.
"""

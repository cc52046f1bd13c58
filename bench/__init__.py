"""Benchmarks: each prints a ratio against a baseline measured in the same run (``python -m bench --help``).

Results are recorded, with the machine they ran on, in ``docs/benchmarks.md``. Timed assertions do not belong in
the tests; a benchmark's smoke test only checks that it runs and reports every figure.
"""

"""Benchmarks of das-actors side by side with APScheduler 3.x (``python -m benchmarks.run``).

See ``benchmarks/README.md`` for what each scenario measures and how.
"""

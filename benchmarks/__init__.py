"""The benchmark (``make bench`` or ``esscard-bot bench`` in a checkout): matcher speed against
BM25, pruning safety, start-up, memory, reload and end-to-end throughput through the fake Bot
API, in one table with targets. It lives beside the ``bot`` package, not in it: it drives the
fake Bot API of ``tests/`` and the question sets of ``tests/data``, which are not installed.

Kept empty so that ``python -m benchmarks.child`` imports nothing before it starts timing;
the entry points are ``benchmarks.run.run_bench`` and ``benchmarks.report.format_table``.
"""

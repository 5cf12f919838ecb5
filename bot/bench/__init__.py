"""``esscard-bot bench``: matcher speed against BM25, pruning safety, start-up, memory,
reload and end-to-end throughput through the fake Bot API, in one table with targets.

Kept empty so that ``python -m bot.bench.child`` imports nothing before it starts timing;
the entry points are ``bot.bench.run.run_bench`` and ``bot.bench.report.format_table``.
"""

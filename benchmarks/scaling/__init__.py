"""The co-review scaling benchmark (``benchmarks/co_review_scaling.py``), one module per layer.

``workload`` is what every layer runs; ``inmemory`` runs it on bare SpiffWorkflow (raw) and
with a full serialisation round trip per step (naive); ``engine_level`` runs it through
``engine.commands`` on a real database; ``http_level`` through the service under gunicorn.
``databases`` makes and fills the databases, ``meters`` measures bytes and memory,
``isolation`` runs each configuration in a process of its own, ``report`` prints the tables.
"""

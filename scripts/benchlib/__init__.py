"""The pieces of ``scripts/bench.py``: a registry of scenarios, how they are measured and
reported, the delay proxy, and the seeded database they run on."""

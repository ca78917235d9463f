"""Benchmarks: what one worker and one server carry, measured against Temporal's own floor.

Each module is one benchmark, runnable on its own (`python -m bench.throughput`, ...);
`python -m bench` runs them all. Results are JSON under bench/results/; docs/benchmarks.md
explains them. Speed is always reported as a ratio against a baseline measured in the same
run on the same machine, because absolute figures on a shared laptop mean little.
"""

"""Benchmarks: the reference workload, a reproduction of the legacy serving path, a closed-loop
load generator, a Locust user and the side-by-side comparison (GitHub issue 5)."""

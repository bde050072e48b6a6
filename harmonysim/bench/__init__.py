"""Benchmarks: each measures a hot path beside its bare baseline in one run."""

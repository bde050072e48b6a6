"""check layer of harmonysim."""

"""sim layer of harmonysim."""

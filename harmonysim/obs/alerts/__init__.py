"""Alerting rules for a harmonysim cluster, their evaluation by Prometheus, and their score.

``rules.yml`` (shipped with the package) holds the rules; ``engine`` evaluates
them over a run's ``metrics.jsonl`` with ``promtool``; ``score`` compares their
firings with the incidents a run's event log shows.
"""

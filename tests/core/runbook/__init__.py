"""Tests of app/core/runbook, a module per chapter: pure `(snapshot, policy, now) -> actions` cases."""

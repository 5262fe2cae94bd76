"""Orchestration: read, plan, execute — per delivery, per tick."""

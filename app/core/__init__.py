"""The pure core: what the runbook means, decided without I/O."""

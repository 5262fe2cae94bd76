"""incident-app: a GitHub App that runs an incident-response runbook on issues."""

__version__ = "0.1.0"

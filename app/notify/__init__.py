"""The edge to the people outside GitHub: Slack, PagerDuty and signed webhooks."""

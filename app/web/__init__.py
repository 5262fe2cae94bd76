"""What answers HTTP: webhooks, the tick, setup, status, metrics."""

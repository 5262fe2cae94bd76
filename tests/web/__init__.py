"""Tests of app/web: the doors (webhooks, alerts, setup, metrics) over ASGI or a real server."""

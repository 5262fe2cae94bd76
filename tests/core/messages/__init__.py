"""Tests of app/core/messages, a module per concern."""

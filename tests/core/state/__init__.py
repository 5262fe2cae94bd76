"""Tests of app/core/state, a module per concern."""

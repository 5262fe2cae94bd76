"""Tests of app/core/pir, a module per concern."""

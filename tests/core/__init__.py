"""Tests of app/core: pure, no GitHub double."""

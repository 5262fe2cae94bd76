"""Tests of app/core/policy: config files and the messages users see."""

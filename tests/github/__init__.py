"""Tests of app/github: what GitHub's answers mean, where the policy is read from."""

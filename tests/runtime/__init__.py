"""Tests of app/runtime: the tick, cluster mode, the monthly report."""

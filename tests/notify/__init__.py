"""Tests of app/notify: the operator's NOTIFIERS_FILE and the notifiers against loopback stand-ins."""

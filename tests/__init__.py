"""The suite: a package, so same-named modules in two folders (tests/e2e/test_declaration.py,
tests/core/runbook/test_declaration.py) do not collide, and helpers import as `tests.…`."""

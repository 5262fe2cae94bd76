"""Severity levels, named as the `sev:` labels name them."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Severity levels; the value is the suffix of the `sev:` label."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"

    @property
    def label(self) -> str:
        return f"sev:{self.value}"

    @property
    def rank(self) -> int:
        """0 is the most severe."""
        return int(self.value[1])

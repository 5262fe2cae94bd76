"""The base of every marker kind (the protocol is `app.core.markers`)."""

from __future__ import annotations

from typing import ClassVar


class Marker:
    """Base of every marker kind: `KIND` is its wire name."""

    KIND: ClassVar[str]

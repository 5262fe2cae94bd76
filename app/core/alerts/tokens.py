"""An owner's own alert token, derived from the operator's `ALERTS_TOKEN` (behaviour §9)."""

from __future__ import annotations

import hashlib
import hmac

OWNER_TOKEN_PREFIX = "iao_"  # incident-app, one owner's alert token


def owner_token(secret: str, owner: str) -> str:
    """The alert token for one owner's repositories only: `iao_` and the HMAC-SHA256 of the
    case-folded owner under ALERTS_TOKEN (`incident-app alert-token OWNER` prints it)."""
    message = f"incident-app alerts for owner\n{owner.casefold()}".encode()
    return OWNER_TOKEN_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()

"""The token in a repository's on-call feed URL: calendar clients send no headers, so the
secret is in the URL, and it is derived, not stored (rotating the setting revokes them all)."""

from __future__ import annotations

import hashlib
import hmac

FEED_TOKEN_CHARS = 32  # 128 bits of the HMAC-SHA256


def feed_token(secret: str, repo: str) -> str:
    """The feed token of `owner/name` under ONCALL_FEED_SECRET."""
    message = f"incident-app on-call feed\n{repo.casefold()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:FEED_TOKEN_CHARS]


def feed_path(secret: str, repo: str) -> str:
    """`/oncall/owner/name/<token>.ics`."""
    return f"/oncall/{repo}/{feed_token(secret, repo)}.ics"


def valid(secret: str, repo: str, given: str) -> bool:
    return hmac.compare_digest(feed_token(secret, repo).encode(), given.encode("utf-8", "replace"))

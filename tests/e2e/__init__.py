"""End to end: signed deliveries -> the ASGI app -> the GitHub double, behaviour by behaviour (docs/behaviour.md)."""

"""The shell of the app's own HTML pages: one style, no scripts, no external resources."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}code{background:#f6f8fa;padding:0 .2em;word-break:break-all}"
    "dt{font-weight:600}dd{margin:0 0 .5rem 0}"
    "button{font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid #1a7f37;"
    "background:#1f883d;color:#fff;cursor:pointer}button:focus{outline:3px solid #0969da}"
)


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A small self-contained HTML page (no scripts, no external resources)."""
    text = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def escape(value: object) -> str:
    """`value` as HTML text."""
    return html.escape(str(value))

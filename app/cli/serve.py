"""`incident-app serve`: the web server."""

from __future__ import annotations

import argparse

from app.cli import common


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.web.server import create_app

    settings = common.settings_or_exit(public_url=args.public_url, gh_org=args.org)
    common.configure_logs(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
    )
    return 0

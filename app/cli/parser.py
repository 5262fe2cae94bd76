"""The `incident-app` command line: the top parser and one subparser per command."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from app import __version__
from app.cli.alerts import cmd_alert, cmd_alert_token
from app.cli.checks import cmd_check_config, cmd_doctor
from app.cli.oncall import cmd_oncall
from app.cli.receive import cmd_receive
from app.cli.reports import cmd_report
from app.cli.serve import cmd_serve
from app.cli.ticks import cmd_tick

# What `add_subparsers` returns; each command adds its parser to it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

DESCRIPTION = """\
incident-app runs an incident-response runbook on GitHub issues: label an issue
`incident` or `sev:P0`…`sev:P3` and it assigns the roster's roles, posts the checklist,
takes status commands, escalates missed deadlines and opens the post-incident review.

Credentials come from the environment or .env (Probot's names): APP_ID, PRIVATE_KEY or
PRIVATE_KEY_PATH, WEBHOOK_SECRET. See README.md for the rest."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incident-app",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"incident-app {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _serve(sub)
    _receive(sub)
    _alert(sub)
    _alert_token(sub)
    _tick(sub)
    _check_config(sub)
    _report(sub)
    _oncall(sub)
    _doctor(sub)
    return parser


def _serve(sub: Commands) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the web server (webhooks, /healthz, /cron/tick)",
        description="Run the web server: POST $WEBHOOK_PATH for GitHub's deliveries, "
        "GET /healthz, and POST /cron/tick when CRON_SECRET is set. Without APP_ID or a "
        "private key it serves the setup page at /, which registers the GitHub App and saves "
        "its credentials to .env; with them, / shows a short status page.",
    )
    serve.add_argument("--host", help="address to bind (default: $HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default: $PORT or 3000)")
    serve.add_argument(
        "--public-url",
        help="this server's address as GitHub reaches it, e.g. https://incidents.example.com; "
        "the setup page builds the webhook URL from it (default: $PUBLIC_URL, else the "
        "address the browser used)",
    )
    serve.add_argument(
        "--org",
        help="register the GitHub App for this organisation instead of your account "
        "(default: $GH_ORG)",
    )
    serve.set_defaults(func=cmd_serve)


def _receive(sub: Commands) -> None:
    receive = sub.add_parser(
        "receive",
        help="run one recorded delivery through the app",
        description="Run one webhook delivery (a JSON payload file) through the same path "
        "the server uses and print the GitHub requests it makes. Without credentials, or "
        "with --dry-run, nothing is sent: the requests are only printed. Example: "
        "incident-app receive --event issues --payload webhooks/issues.opened-incident-p0.json",
    )
    receive.add_argument("--event", required=True, help="the X-GitHub-Event, e.g. issues")
    receive.add_argument("--payload", required=True, help="path of the delivery's JSON body")
    receive.add_argument(
        "--dry-run", action="store_true", help="print the requests without sending them"
    )
    receive.add_argument(
        "--now",
        help="the time to decide at: an ISO time such as 2019-05-15T15:30:00Z, or 'payload' "
        "for the moment GitHub made the delivery (default: 'payload' without credentials, "
        "else the real time)",
    )
    receive.set_defaults(func=cmd_receive)


def _alert(sub: Commands) -> None:
    alert = sub.add_parser(
        "alert",
        help="run one alert notification through the app",
        description="Run one alert notification (Alertmanager's, Grafana's or the generic "
        "JSON) through the path POST /alerts/{source}/{owner}/{repo} takes and print what it "
        "decides and the GitHub requests it makes: open the incident issue, tell a change or "
        "the resolution once, or nothing. Without credentials, or with --dry-run, nothing is "
        "sent. Example: incident-app alert --source alertmanager --repo acme/payments "
        "--payload webhooks/alerts/alertmanager-firing.json",
    )
    alert.add_argument(
        "--source",
        required=True,
        choices=["alertmanager", "grafana", "generic"],
        help="who sent it: alertmanager, grafana or generic",
    )
    alert.add_argument("--repo", required=True, help="owner/name of the repository")
    alert.add_argument("--payload", required=True, help="path of the notification's JSON body")
    alert.add_argument(
        "--dry-run", action="store_true", help="print the requests without sending them"
    )
    alert.set_defaults(func=cmd_alert)


def _alert_token(sub: Commands) -> None:
    alert_token = sub.add_parser(
        "alert-token",
        help="print the alert token for one owner's repositories",
        description="Print an alert token that works only for OWNER's repositories (in "
        "POST /alerts/{source}/OWNER/{repo}, as Bearer or the basic-auth password), for a "
        "team that must not hold ALERTS_TOKEN itself, which works for every owner. It is "
        "derived from ALERTS_TOKEN (iao_ and an HMAC-SHA256 of the case-folded owner), so "
        "nothing is stored: the server checks it by deriving it again, and rotating "
        "ALERTS_TOKEN revokes every owner's token. The repository must still opt in with "
        "`alerts: {enabled: true}`. Example: incident-app alert-token acme",
    )
    alert_token.add_argument("owner", metavar="OWNER", help="a GitHub user or organisation")
    alert_token.set_defaults(func=cmd_alert_token)


def _tick(sub: Commands) -> None:
    tick = sub.add_parser(
        "tick",
        help="reconcile every open incident once (what POST /cron/tick does)",
        description="Reconcile every open incident of every installation once: escalate "
        "missed response deadlines, remind about overdue status updates, heal what a missed "
        "delivery left undone. For cron on a host without an HTTP scheduler. Prints what it "
        "did as JSON; exit status 1 when any repository or issue failed.",
    )
    tick.add_argument(
        "--dry-run",
        action="store_true",
        help="read GitHub and print what would be done, without writing",
    )
    tick.set_defaults(func=cmd_tick)


def _check_config(sub: Commands) -> None:
    check = sub.add_parser(
        "check-config",
        help="validate an incident config file",
        description="Validate a .github/incident.yml (merged over the bundled default) and "
        "print every problem with its location. Exit status 1 when there are problems.",
    )
    check.add_argument("path", help="the YAML file to check")
    check.set_defaults(func=cmd_check_config)


def _report(sub: Commands) -> None:
    report = sub.add_parser(
        "report",
        help="print the monthly incident review of a repository",
        description="Print the review of the incidents declared in a period (default: last "
        "month): time to acknowledge and to resolve against the targets, MTTA and MTTR per "
        "severity, action items by horizon, recurrences, and charts GitHub renders. Reads "
        "GitHub with the App's credentials, or a recording with --offline.",
    )
    report.add_argument("--repo", required=True, help="owner/name")
    report.add_argument("--since", help="first day, YYYY-MM-DD (default: last month's first)")
    report.add_argument("--until", help="day after the last, YYYY-MM-DD (default: a month on)")
    report.add_argument("--format", choices=("md", "json"), default="md")
    report.add_argument(
        "--offline",
        metavar="DIR",
        help="read issues.json, timelines/<n>.json, action-items.json (and incident.yml) "
        "from DIR instead of GitHub",
    )
    report.add_argument("--app-id", help="with --offline: the App ID whose issues count as its own")
    report.set_defaults(func=cmd_report)


def _oncall(sub: Commands) -> None:
    oncall = sub.add_parser(
        "oncall",
        help="print who is on call (the schedule, or an iCalendar feed)",
        description="Print each rotation's turns for the next two weeks from --at (who is on "
        "call, handoff by handoff, covers and calendars included), or with --ics the "
        "iCalendar feed the server serves at /oncall/OWNER/REPO/TOKEN.ics (a week back, four "
        "weeks ahead). Reads the repository's config and covers with the App's credentials, "
        "or a local file with --config (calendars from NOTIFIERS_FILE either way). Example: "
        "incident-app oncall --repo acme/payments --at 2026-12-24T09:00Z",
    )
    oncall.add_argument("--repo", help="owner/name of the repository")
    oncall.add_argument("--config", help="a local .github/incident.yml instead of GitHub's")
    oncall.add_argument("--at", help="from when, an ISO time (default: now)")
    oncall.add_argument("--ics", action="store_true", help="print an iCalendar feed instead")
    oncall.add_argument(
        "--feed-url",
        action="store_true",
        help="print the feed's address for --repo (from PUBLIC_URL and ONCALL_FEED_SECRET), "
        "to subscribe to in a calendar",
    )
    oncall.set_defaults(func=cmd_oncall)


def _doctor(sub: Commands) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check the settings and the App's access to GitHub",
        description="Check the settings (APP_ID, the private key, WEBHOOK_SECRET, "
        "CRON_SECRET), that GitHub accepts the App's JWT, the installations, and each "
        "installed repository's .github/incident.yml. Prints ok, warn or FAIL with a reason "
        "per check; exit status 1 when any check fails.",
    )
    doctor.set_defaults(func=cmd_doctor)

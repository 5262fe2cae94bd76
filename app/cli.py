"""The `incident-app` command: serve, receive, tick, check-config, doctor."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from app import __version__

DESCRIPTION = """\
incident-app runs an incident-response runbook on GitHub issues: label an issue
`incident` or `sev:P0`…`sev:P3` and it assigns the roster's roles, posts the checklist,
takes status commands, escalates missed deadlines and opens the post-incident review.

Credentials come from the environment or .env (Probot's names): APP_ID, PRIVATE_KEY or
PRIVATE_KEY_PATH, WEBHOOK_SECRET. See README.md for the rest."""


def _settings(**overrides: Any) -> Any:
    """Settings from the environment and .env; options given on the command line win."""
    from app.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _settings_or_exit(**overrides: Any) -> Any:
    """Like _settings, but a bad value is one clear line and exit status 2, not a traceback."""
    from pydantic import ValidationError

    try:
        return _settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]).upper() or "settings"
            print(f"error: {where}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        raise SystemExit(2) from None


def _configure_logs(settings: Any, *, strict: bool = True) -> None:
    from app.logs import configure

    secrets = settings.secrets() + _operator(settings, strict=strict)
    configure(settings.log_level, settings.log_format, secrets)


def _operator(settings: Any, *, strict: bool) -> list[str]:
    """The secrets of NOTIFIERS_FILE, for the log scrubber; when `strict`, exit 2 if the file
    is unusable (better than paging nobody in silence; `doctor` reports it instead)."""
    if settings.notifiers_file is None:
        return []
    from app.notify.operator import OperatorError, load

    try:
        return load(settings.notifiers_file, env=settings.environment()).secrets()
    except OperatorError as exc:
        if not strict:
            return []
        for problem in exc.problems:
            print(f"error: NOTIFIERS_FILE {exc.source}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def _notifications(settings: Any, *, dry_run: bool, cluster: Any = None) -> tuple[Any, Any]:
    """(what the reconciler tells, the Notifications to drain and close): the operator's
    notifiers, or in a dry run only their names; (None, None) without NOTIFIERS_FILE."""
    from app.core.notify import Unsent
    from app.notify.dispatch import Notifications, SharedLedger

    found = Notifications.from_settings(
        settings, ledger=SharedLedger(cluster.once) if cluster is not None else None
    )
    if found is None:
        return None, None
    if dry_run:
        names = found.names()
        return Unsent(names), found
    return found, found


async def _sent(notifications: Any) -> None:
    """Wait for what a command told, then let go."""
    if notifications is not None:
        await notifications.drain()
        await notifications.aclose()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.web.server import create_app

    settings = _settings_or_exit(public_url=args.public_url, gh_org=args.org)
    _configure_logs(settings)
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


def cmd_receive(args: argparse.Namespace) -> int:
    return asyncio.run(_receive(args))


async def _receive(args: argparse.Namespace) -> int:
    from app.github.client import AppClients
    from app.github.offline import OfflineGitHub
    from app.github.port import GitHubPort
    from app.runtime.reconcile import Reconciler
    from app.web.webhooks import Job, router

    try:
        payload = json.loads(Path(args.payload).read_text())
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.payload}: {exc}", file=sys.stderr)
        return 2
    settings = _settings()
    _configure_logs(settings)
    dry_run = args.dry_run or not settings.has_credentials
    if args.now is None and not settings.has_credentials:
        args.now = "payload"
    clients: Callable[[int], GitHubPort]
    if settings.has_credentials:
        clients = AppClients(settings).installation
    else:
        offline = OfflineGitHub(payload)
        clients = lambda _id: offline  # noqa: E731
        print(
            "No credentials (APP_ID, PRIVATE_KEY): dry run on the delivery alone, "
            "with the bundled config."
        )
    found = router.route(args.event, payload, "local")
    if not isinstance(found, Job):
        print(f"Nothing to do: {found}.")
        return 0
    now = _receive_time(args.now, payload)
    sink, notifications = _notifications(settings, dry_run=dry_run)
    reconciler = Reconciler.from_settings(
        settings, clients=clients, now=lambda: now, notifications=sink
    )
    try:
        report = await reconciler.run(found.key, found.hints, dry_run=dry_run)
    finally:
        await _sent(notifications)
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
        return 1
    verb = "would make" if dry_run else "made"
    calls = reconciler.describe(found.key, report.planned)
    print(f"{found.key}: {verb} {len(calls)} GitHub request(s)")
    for line in calls:
        print("  " + line.replace("\n", "\\n"))
    return 0


def cmd_alert(args: argparse.Namespace) -> int:
    return asyncio.run(_alert(args))


async def _alert(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.core import alerts
    from app.core.keys import Hints, IssueKey
    from app.github.client import AppClients
    from app.github.config import ConfigLoader
    from app.github.executor import to_call
    from app.github.offline import OfflineGitHub
    from app.github.port import GitHubPort
    from app.runtime.alerts import AlertWork, Installations, Target
    from app.runtime.reconcile import Reconciler

    try:
        group = alerts.parse(args.source, json.loads(Path(args.payload).read_text()))
    except (OSError, ValueError) as exc:  # BadPayload is a ValueError
        print(f"error: {args.payload}: {exc}", file=sys.stderr)
        return 2
    owner, _, repo = args.repo.partition("/")
    settings = _settings()
    _configure_logs(settings)
    dry_run = args.dry_run or not settings.has_credentials
    clients: Callable[[int], GitHubPort]
    installation = 0
    if settings.has_credentials:
        factory = AppClients(settings)
        clients = factory.installation
        found = await Installations(factory.app).find(owner, repo)
        if found is None:
            print(f"error: the app is not installed on {args.repo}", file=sys.stderr)
            return 1
        installation = found
    else:
        offline = OfflineGitHub()
        clients = lambda _id: offline  # noqa: E731
        print(f"No credentials: dry run, as if {args.repo} had no alert issues yet.")
    opened: list[tuple[IssueKey, Hints]] = []
    sink, notifications = _notifications(settings, dry_run=dry_run)
    work = AlertWork(
        clients=clients,
        config=ConfigLoader(notifiers=sink.names() if sink is not None else frozenset()),
        app_id=settings.app_id,
        now=lambda: datetime.now(UTC),
        submit=lambda key, hints: opened.append((key, hints)),
    )
    report = await work.handle(Target(installation, owner, repo), group, dry_run=dry_run)
    if report.error:
        await _sent(notifications)
        print(f"error: {report.error}", file=sys.stderr)
        return 1
    verb = "would make" if dry_run else "made"
    where = f" on #{report.number}" if report.number else ""
    print(f"{group.source} group {group.group} ({group.status}): {report.why}{where}")
    print(f"{args.repo}: {verb} {len(report.planned)} GitHub request(s)")
    for action in report.planned:
        call = to_call(args.repo, report.number or 0, action).describe()
        print("  " + call.replace("\n", "\\n")[:2000])
    # The new incident is declared now rather than when GitHub's delivery reaches a server.
    reconciler = Reconciler.from_settings(
        settings, clients=clients, now=lambda: datetime.now(UTC), notifications=sink
    )
    try:
        for key, hints in opened:
            declared = await reconciler.run(key, hints)
            print(f"{key}: declared with {len(declared.outcome.done)} request(s)")
    finally:
        await _sent(notifications)
    return 0


def _receive_time(option: str | None, payload: dict[str, Any]) -> Any:
    """`--now`: an ISO time, `payload` (when GitHub made the delivery), or the real time."""
    from datetime import UTC, datetime

    from app.core.snapshot import ts

    if option == "payload":
        issue = payload.get("issue") or {}
        comment = payload.get("comment") or {}
        made = comment.get("created_at") or issue.get("updated_at") or issue.get("created_at")
        if made:
            return ts(made)
    elif option:
        return ts(option)
    return datetime.now(UTC)


def cmd_alert_token(args: argparse.Namespace) -> int:
    from app.core.alerts import owner_token
    from app.web.alerts import valid_owner

    if not valid_owner(args.owner):
        print(
            f"error: {args.owner[:60]!r} is not a GitHub user or organisation name", file=sys.stderr
        )
        return 2
    settings = _settings_or_exit()
    if settings.alerts_token is None or not settings.alerts_token.get_secret_value():
        print(
            "error: ALERTS_TOKEN is not set: the owner's token is derived from it", file=sys.stderr
        )
        return 2
    print(owner_token(settings.alerts_token.get_secret_value(), args.owner))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from app.core.policy import ConfigError
    from app.github.config import check_text

    path = Path(args.path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        policy = check_text(text, source=str(path))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) in {path}")
        return 1
    unmapped = [seat for seat, login in policy.roster.items() if not login]
    print(f"{path}: valid.")
    if unmapped:
        print(f"note: seats without a GitHub login: {', '.join(unmapped)}")
    for warning in policy.unstaffed():
        print(f"warning: {warning}")
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    return asyncio.run(_tick(args))


async def _tick(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from app.core.keys import IssueKey
    from app.github.client import AppClients
    from app.runtime.cluster import Busy, Cluster
    from app.runtime.reconcile import Reconciler
    from app.runtime.tick import Ticker

    settings = _settings()
    _configure_logs(settings)
    if not settings.has_credentials:
        print("error: the tick needs APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH)", file=sys.stderr)
        return 2
    # With REDIS_URL the tick takes the replicas' shared tick lock and issue locks, and
    # paces writes with them, as the server's does.
    cluster = (
        Cluster.from_url(settings.redis_url.get_secret_value(), lock_ttl=settings.lock_ttl_seconds)
        if settings.redis_url is not None
        else None
    )
    factory = AppClients(settings, slots=cluster, guard=cluster.guard if cluster else None)
    # The tick's escalations page people too: the same notifiers as the server's, drained
    # before the process ends.
    sink, notifications = _notifications(settings, dry_run=args.dry_run, cluster=cluster)
    reconciler = Reconciler.from_settings(
        settings, clients=factory.installation, now=lambda: datetime.now(UTC), notifications=sink
    )

    @contextlib.asynccontextmanager
    async def exclusive(key: IssueKey) -> AsyncIterator[None]:
        if cluster is None:
            yield
            return
        async with cluster.issue(key):
            yield

    ticker = Ticker(
        app=factory.app,
        clients=factory.installation,
        reconciler=reconciler,
        exclusive=exclusive,
        shared=cluster.tick if cluster else None,
    )
    try:
        report = await ticker.run(dry_run=args.dry_run)
        if notifications is not None and not args.dry_run:
            await notifications.sweep(datetime.now(UTC))
    except Busy:
        print("error: another replica's tick is running", file=sys.stderr)
        return 3
    finally:
        await _sent(notifications)
        if cluster is not None:
            await cluster.close()
    verb = "would make" if args.dry_run else "made"
    for run in report.runs:
        if run.planned:
            print(f"{run.key}: {verb} {len(run.planned)} request(s)")
            for line in reconciler.describe(run.key, run.planned):
                print("  " + line.replace("\n", "\\n")[:300])
    print(json.dumps(report.as_json(), indent=2))
    return 1 if report.errors else 0


def cmd_report(args: argparse.Namespace) -> int:
    return asyncio.run(_report(args))


def _month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


async def _report(args: argparse.Namespace) -> int:
    import dataclasses

    from app.core import monthly
    from app.core.policy import ConfigError
    from app.github.client import AppClients
    from app.github.config import bundled_policy, check_text
    from app.github.errors import GitHubError
    from app.github.offline import RecordedGitHub
    from app.github.port import GitHubPort
    from app.runtime.report import build

    now = datetime.now(UTC)
    this_month = _month_start(now.date())
    since = (
        datetime.combine(date.fromisoformat(args.since), time(), tzinfo=UTC)
        if args.since
        else _month_start((this_month - timedelta(days=1)).date())
    )
    until = (
        datetime.combine(date.fromisoformat(args.until), time(), tzinfo=UTC)
        if args.until
        else _month_start((since + timedelta(days=32)).date())
    )
    gh: GitHubPort
    app_id: int | None = None
    policy = bundled_policy()
    if args.offline:
        folder = Path(args.offline)
        if not folder.is_dir():
            print(f"error: {folder} is not a folder of recorded issues", file=sys.stderr)
            return 2
        gh = RecordedGitHub(folder)
        config = folder / "incident.yml"
        if config.is_file():
            try:
                policy = check_text(config.read_text(encoding="utf-8"), source=str(config))
            except ConfigError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        app_id = int(args.app_id) if args.app_id else None
    else:
        settings = _settings()
        _configure_logs(settings)
        if not settings.has_credentials:
            print("error: report needs APP_ID and PRIVATE_KEY, or --offline DIR", file=sys.stderr)
            return 2
        factory = AppClients(settings)
        app_id = settings.app_id
        try:
            found = await factory.app().request("GET", f"/repos/{args.repo}/installation")
        except GitHubError as exc:
            print(f"error: the App is not installed on {args.repo}: {exc}", file=sys.stderr)
            return 2
        gh = factory.installation(int(found.data["id"]))
    try:
        review = await build(
            gh, repo=args.repo, policy=policy, since=since, until=until, now=now, app_id=app_id
        )
    except GitHubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(dataclasses.asdict(review), default=str, indent=2))
    else:
        print(monthly.render(review), end="")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    return asyncio.run(_doctor())


async def _doctor() -> int:
    from app.doctor import diagnose

    settings = _settings_or_exit()
    _configure_logs(settings, strict=False)
    failed = warned = 0
    async for check in diagnose(settings):
        failed += check.verdict == "FAIL"
        warned += check.verdict == "warn"
        for line in check.lines():
            print(line, flush=True)
    if failed:
        print(f"{failed} check(s) failed, {warned} warning(s).")
        return 1
    print(f"All checks passed, {warned} warning(s)." if warned else "All checks passed.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incident-app",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"incident-app {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    check = sub.add_parser(
        "check-config",
        help="validate an incident config file",
        description="Validate a .github/incident.yml (merged over the bundled default) and "
        "print every problem with its location. Exit status 1 when there are problems.",
    )
    check.add_argument("path", help="the YAML file to check")
    check.set_defaults(func=cmd_check_config)

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

    doctor = sub.add_parser(
        "doctor",
        help="check the settings and the App's access to GitHub",
        description="Check the settings (APP_ID, the private key, WEBHOOK_SECRET, "
        "CRON_SECRET), that GitHub accepts the App's JWT, the installations, and each "
        "installed repository's .github/incident.yml. Prints ok, warn or FAIL with a reason "
        "per check; exit status 1 when any check fails.",
    )
    doctor.set_defaults(func=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())

"""Ingest benchmark: `incident-app serve` against a bare ASGI floor, under wrk.

What it does, in one run (about 80 s with the defaults):

1. builds a pool of realistic signed deliveries, 10–18 KB each, in the shapes of
   webhooks/*.json: 90% non-incident issues and comments, 10% incident ones; each signed
   with HMAC-SHA256 of the raw body; wrk gives every request a fresh X-GitHub-Delivery;
2. starts `incident-app serve` (setup mode: no APP_ID, so an offline GitHub stand-in; with
   WEBHOOK_SECRET) and the floor (benchmarks/ingest/floor.py under uvicorn + httptools +
   uvloop), both pinned to one core with taskset, and checks that a signed sample gets 202
   and a wrongly signed one 401 from each;
3. loads them in turn, interleaved (floor, app, floor, app, …) after a short warm-up, with
   wrk pinned to the other core;
4. prints requests/s, p50 and p99 latency, CPU time per request (from /proc/<pid>/stat),
   peak RSS (VmHWM) and the app's ratios to the floor, against the targets.

It installs nothing: it needs `wrk` (Debian: `apt-get install wrk`) and `taskset`
(util-linux). Load goes to 127.0.0.1 only; both servers are always stopped.

Run from the repository root:  python -m benchmarks.ingest.run [--help]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = ROOT / "webhooks"
LUA = Path(__file__).resolve().parent / "deliveries.lua"
WEBHOOK_PATH = "/api/github/webhooks"

# Targets the app is held to, relative to the floor on the same machine.
TARGET_THROUGHPUT_RATIO = 0.75  # app req/s ≥ 0.75 × floor req/s
TARGET_P99_RATIO = 2.0  # app p99 ≤ 2 × floor p99
TARGET_PEAK_RSS_MB = 120.0  # app VmHWM ≤ 120 MB

# Recorded delivery → (event, how many of every 100 deliveries, is it an incident).
MIX: list[tuple[str, str, int, bool]] = [
    ("issue_comment.created.json", "issue_comment", 30, False),
    ("issue_comment.edited.json", "issue_comment", 10, False),
    ("issues.opened.json", "issues", 15, False),
    ("issues.labeled.json", "issues", 10, False),
    ("issues.labeled-bug.json", "issues", 5, False),
    ("issues.edited.json", "issues", 10, False),
    ("issues.closed.json", "issues", 10, False),
    ("issues.opened-incident-p0.json", "issues", 2, True),
    ("issues.labeled-sev-p0.json", "issues", 2, True),
    ("issue_comment.created-status-mitigating.json", "issue_comment", 3, True),
    ("issue_comment.created-ack.json", "issue_comment", 2, True),
    ("issue_comment.created-template.json", "issue_comment", 1, True),
]

TITLES = [
    "Dropdown in settings page renders behind the modal on Safari",
    "Flaky test: test_export_csv times out on CI",
    "Upgrade to Node 20 breaks the asset pipeline",
    "Search results are not paginated past page 10",
    "Rate limiter counts retries twice",
    "Docs: the quick start misses the migration step",
    "Memory grows steadily in the report worker",
    "Dark mode: code blocks are unreadable",
]
INCIDENT_TITLES = [
    "Checkout returns 502 for every user",
    "Login fails with 500 after the 14:00 deploy",
    "Payments webhook queue is stuck",
    "API latency p99 above 5 s in eu-west",
]
PARAGRAPHS = [
    "We noticed this after the last release. It happens on about one in five page loads "
    "and only for signed-in users; anonymous sessions look fine.",
    "Steps to reproduce:\n1. Open the settings page\n2. Click *Notifications*\n"
    "3. Change the frequency to `weekly`\n4. Save and reload",
    "Expected: the new value is kept. Actual: the page shows the old value and the "
    "server logs a validation error (see below).",
    '```\nTraceback (most recent call last):\n  File "/srv/app/handlers/settings.py", '
    'line 214, in save\n    form.validate()\n  File "/srv/app/forms.py", line 88, in '
    "validate\n    raise ValidationError(field, value)\nValidationError: frequency\n```",
    "Environment: Ubuntu 22.04, Chrome 126, Firefox 127; staging and production. "
    "@octocat could you take a look when you have a minute?",
    "| metric | before | after |\n| --- | --- | --- |\n| p50 | 120 ms | 480 ms |\n"
    "| p99 | 900 ms | 6.1 s |\n| errors | 0.1% | 4.2% |",
    "> I think this is related to #1042, the cache key changed there.\n\n"
    "Possibly, but reverting that commit locally did not help.",
    '```json\n{"level":"error","msg":"upstream timed out","upstream":'
    '"payments-7f9c","elapsed_ms":30001,"request_id":"b8e1c0d2"}\n```',
    "- [x] reproduced on staging\n- [ ] bisected\n- [ ] regression test added\n"
    "- [ ] backported to the 4.x branch",
]


def _compact(payload: Any) -> bytes:
    # GitHub sends deliveries as compact JSON.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _text(rng: random.Random, size: int) -> str:
    parts: list[str] = []
    while sum(len(p) + 2 for p in parts) < size + 200:
        parts.append(rng.choice(PARAGRAPHS))
    return "\n\n".join(parts)


def _pad(payload: dict[str, Any], target: int, rng: random.Random) -> bytes:
    """Fill the issue's body (and a comment's) with markdown until the JSON is ~target bytes.

    A comment keeps its own text (a command, if any) first and gets a third of the room.
    """
    comment = payload.get("comment")
    command = str(comment.get("body") or "") if comment else ""
    payload["issue"]["body"] = ""
    if comment:
        comment["body"] = command
    room = max(target - len(_compact(payload)), 0)
    issue_room = room * 2 // 3 if comment else room
    payload["issue"]["body"] = _text(rng, issue_room)[:issue_room]
    if comment:
        comment["body"] = (command + "\n\n" + _text(rng, room - issue_room))[: room - issue_room]
    # JSON escapes (newlines, quotes) make the body longer than its text: trim to the target.
    last = comment or payload["issue"]
    for _ in range(20):
        excess = len(_compact(payload)) - target
        if excess <= 0:
            break
        last["body"] = last["body"][: max(len(last["body"]) - excess, 0)]
    return _compact(payload)


@dataclass(frozen=True)
class Delivery:
    event: str
    body: bytes
    incident: bool
    name: str


def build_deliveries(*, pool: int = 200, seed: int = 7) -> list[Delivery]:
    """`pool` signed deliveries in MIX's proportions, 10–18 KB each, shuffled."""
    rng = random.Random(seed)
    weights = sum(w for _, _, w, _ in MIX)
    out: list[Delivery] = []
    incident_number = 0
    for name, event, weight, incident in MIX:
        recorded = json.loads((WEBHOOKS / name).read_text())
        for _ in range(max(1, round(pool * weight / weights))):
            payload = copy.deepcopy(recorded)
            issue = payload["issue"]
            if incident:
                incident_number += 1
                issue["number"] = incident_number  # a few incidents, each hit repeatedly
                issue["title"] = rng.choice(INCIDENT_TITLES)
            else:
                issue["number"] = rng.randint(100, 20_000)
                issue["title"] = rng.choice(TITLES)
            issue["comments"] = rng.randint(0, 40)
            if "comment" in payload:
                payload["comment"]["id"] = rng.randint(10**8, 10**9)
            body = _pad(payload, rng.randint(10 * 1024, 18 * 1024), rng)
            out.append(Delivery(event, body, incident, name))
    rng.shuffle(out)
    return out


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def write_manifest(deliveries: list[Delivery], secret: bytes, folder: Path) -> Path:
    lines = []
    for i, d in enumerate(deliveries):
        path = folder / f"delivery-{i:04d}.json"
        path.write_bytes(d.body)
        lines.append(f"{d.event}\t{sign(secret, d.body)}\t{path}")
    manifest = folder / "manifest.tsv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


# --- processes -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (all threads), in seconds."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
        return ticks / os.sysconf("SC_CLK_TCK")

    def status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _child_env(**extra: str) -> dict[str, str]:
    """The environment without any GitHub App credentials or settings from the caller."""
    drop = {
        "APP_ID",
        "PRIVATE_KEY",
        "PRIVATE_KEY_PATH",
        "WEBHOOK_SECRET",
        "CRON_SECRET",
        "PORT",
        "HOST",
        "WEBHOOK_PATH",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "COALESCE_SECONDS",
        "ENV_FILE_PATH",
    }
    env = {k: v for k, v in os.environ.items() if k.upper() not in drop}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def start_app(folder: Path, secret: str, core: int) -> Server:
    port = free_port()
    workdir = folder / "app"
    workdir.mkdir()
    # No APP_ID: setup mode, with the offline GitHub stand-in; deliveries are still verified.
    (workdir / ".env").write_text(
        f"WEBHOOK_SECRET={secret}\nPORT={port}\nHOST=127.0.0.1\nLOG_LEVEL=WARNING\n"
    )
    script = Path(sys.executable).parent / "incident-app"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "app"]
    log_path = folder / "app.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["taskset", "-c", str(core), *command, "serve"],
            cwd=workdir,
            env=_child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server("app", port, process, log_path)


def start_floor(folder: Path, secret: str, core: int) -> Server:
    port = free_port()
    log_path = folder / "floor.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(core),
                sys.executable,
                "-m",
                "uvicorn",
                "benchmarks.ingest.floor:app",
                "--app-dir",
                str(ROOT),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--lifespan",
                "off",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=_child_env(WEBHOOK_SECRET=secret),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server("floor", port, process, log_path)


def wait_ready(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"{server.name} exited with {server.process.returncode}:\n"
                + server.log_path.read_text(errors="replace")[-2000:]
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=1):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise SystemExit(f"{server.name} did not answer /healthz within {timeout:.0f}s")


def post(server: Server, delivery: Delivery, signature: str) -> tuple[int, str]:
    request = urllib.request.Request(
        server.url,
        data=delivery.body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": delivery.event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def check_sample(server: Server, deliveries: list[Delivery], secret: bytes) -> None:
    """A correctly signed delivery of each kind gets 202; a wrongly signed one gets 401."""
    for kind in {d.name: d for d in deliveries}.values():
        status, text = post(server, kind, sign(secret, kind.body))
        if status != 202:
            raise SystemExit(f"{server.name}: {kind.name} answered {status}, not 202: {text}")
    status, text = post(server, deliveries[0], sign(b"not-the-secret", deliveries[0].body))
    if status != 401:
        raise SystemExit(f"{server.name}: a wrong signature answered {status}, not 401: {text}")


# --- load ------------------------------------------------------------------------------


@dataclass
class Sample:
    server: str
    round: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    busy: float  # the server's CPU time / wall time: ~1.0 when its core is saturated
    errors: int
    raw: str = field(repr=False, default="")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(
    server: Server, manifest: Path, *, seconds: int, connections: int, core: int, label: str
) -> Sample:
    command = [
        "taskset",
        "-c",
        str(core),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        server.url,
        "--",
        str(manifest),
    ]
    cpu_before = server.cpu_seconds()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    cpu_after = server.cpu_seconds()
    found = re.search(r"^WRK_RESULT (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(found[1])
    requests = int(result["requests"])
    errors = sum(int(result[k]) for k in ("connect", "read", "write", "status", "timeout"))
    return Sample(
        server=server.name,
        round=label,
        requests=requests,
        seconds=int(result["duration_us"]) / 1e6,
        p50_ms=int(result["p50_us"]) / 1000,
        p99_ms=int(result["p99_us"]) / 1000,
        cpu_us=(cpu_after - cpu_before) / requests * 1e6 if requests else 0.0,
        busy=(cpu_after - cpu_before) / (int(result["duration_us"]) / 1e6),
        errors=errors,
        raw=done.stdout,
    )


def _median(samples: list[Sample], attr: str) -> float:
    return statistics.median(float(getattr(s, attr)) for s in samples)


def report(samples: list[Sample], peak_mb: dict[str, float], args: argparse.Namespace) -> bool:
    """Print the tables; True when the app meets every target."""
    print()
    print(
        f"Ingest: {args.rounds} rounds × {args.duration}s per server, {args.connections} "
        f"connections, wrk -t1 on core {args.client_core}, servers on core {args.server_core}"
    )
    print()
    header = (
        f"| {'round':<6} | {'server':<6} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | "
        f"{'CPU µs/req':>10} | {'core busy':>9} | {'errors':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c) + 0) for c in header.split("|")[1:-1]) + "|")
    for s in samples:
        print(
            f"| {s.round:<6} | {s.server:<6} | {s.rps:>8.0f} | {s.p50_ms:>7.2f} | "
            f"{s.p99_ms:>7.2f} | {s.cpu_us:>10.0f} | {s.busy:>9.0%} | {s.errors:>6} |"
        )
    by: dict[str, list[Sample]] = {"floor": [], "app": []}
    for s in samples:
        if s.round != "warmup":
            by[s.server].append(s)
    print()
    print("Median of the measured rounds:")
    print()
    print(
        "| server | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB |\n"
        "|--------|------:|-------:|-------:|-----------:|------------:|"
    )
    for name in ("floor", "app"):
        rows = by[name]
        print(
            f"| {name} | {_median(rows, 'rps'):.0f} | {_median(rows, 'p50_ms'):.2f} | "
            f"{_median(rows, 'p99_ms'):.2f} | {_median(rows, 'cpu_us'):.0f} | "
            f"{peak_mb[name]:.1f} |"
        )
    ratio_rps = _median(by["app"], "rps") / _median(by["floor"], "rps")
    ratio_p99 = _median(by["app"], "p99_ms") / _median(by["floor"], "p99_ms")
    ratio_cpu = _median(by["app"], "cpu_us") / _median(by["floor"], "cpu_us")
    checks = [
        (
            "throughput app/floor",
            f"{ratio_rps:.2f}×",
            f"≥ {TARGET_THROUGHPUT_RATIO}×",
            ratio_rps >= TARGET_THROUGHPUT_RATIO,
        ),
        (
            "p99 app/floor",
            f"{ratio_p99:.2f}×",
            f"≤ {TARGET_P99_RATIO}×",
            ratio_p99 <= TARGET_P99_RATIO,
        ),
        (
            "app peak RSS",
            f"{peak_mb['app']:.1f} MB",
            f"≤ {TARGET_PEAK_RSS_MB:.0f} MB",
            peak_mb["app"] <= TARGET_PEAK_RSS_MB,
        ),
        ("CPU per request app/floor", f"{ratio_cpu:.2f}×", "(no target)", True),
    ]
    print()
    print("| check | measured | target | |\n|-------|---------:|-------:|---|")
    for name, measured, target, ok in checks:
        mark = "" if target == "(no target)" else ("ok" if ok else "MISSED")
        print(f"| {name} | {measured} | {target} | {mark} |")
    if any(s.errors for s in samples):
        print("\nnote: wrk counted errors (non-2xx answers, timeouts or socket errors) above")
    return all(ok for *_, ok in checks)


def log_summary(server: Server) -> str:
    """How much the server logged at WARNING or above during the run, and the first line."""
    lines = server.log_path.read_text(errors="replace").splitlines()
    loud = [ln for ln in lines if " ERROR " in ln or " WARNING " in ln or "Traceback" in ln]
    if not loud:
        return f"{server.name} log: {len(lines)} lines, none at WARNING or above"
    return (
        f"{server.name} log: {len(lines)} lines, {len(loud)} at WARNING or above; "
        f"first: {loud[0][:300]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest.run",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=(
            f"Targets: app ≥ {TARGET_THROUGHPUT_RATIO}× the floor's throughput, p99 ≤ "
            f"{TARGET_P99_RATIO}× the floor's, peak RSS ≤ {TARGET_PEAK_RSS_MB:.0f} MB."
        ),
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per load (10)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server (3)")
    parser.add_argument("--rounds", type=int, default=3, help="floor+app rounds (3)")
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="wrk connections (32 saturated one server core here; 16 did not)",
    )
    parser.add_argument("--pool", type=int, default=200, help="distinct deliveries (200)")
    parser.add_argument("--server-core", type=int, default=1, help="core for both servers (1)")
    parser.add_argument("--client-core", type=int, default=0, help="core for wrk (0)")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    args = parser.parse_args(argv)

    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        hints = {"wrk": "apt-get install -y wrk", "taskset": "apt-get install -y util-linux"}
        for tool in missing:
            print(
                f"error: `{tool}` is not installed; install it with: {hints[tool]}", file=sys.stderr
            )
        return 2
    if (os.cpu_count() or 1) <= max(args.server_core, args.client_core):
        print(f"error: needs cores {args.client_core} and {args.server_core}", file=sys.stderr)
        return 2

    print(
        f"Targets: app ≥ {TARGET_THROUGHPUT_RATIO}× the floor's throughput, p99 ≤ "
        f"{TARGET_P99_RATIO}× the floor's, peak RSS ≤ {TARGET_PEAK_RSS_MB:.0f} MB"
    )
    secret = secrets.token_hex(20)
    servers: list[Server] = []
    notes: list[str] = []
    samples: list[Sample] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        folder = Path(tmp)
        deliveries = build_deliveries(pool=args.pool)
        manifest = write_manifest(deliveries, secret.encode(), folder)
        sizes = [len(d.body) for d in deliveries]
        share = sum(d.incident for d in deliveries) / len(deliveries)
        print(
            f"{len(deliveries)} deliveries, {min(sizes) / 1024:.1f}–{max(sizes) / 1024:.1f} KB "
            f"(mean {statistics.mean(sizes) / 1024:.1f} KB), {share:.0%} incident"
        )
        try:
            floor = start_floor(folder, secret, args.server_core)
            servers.append(floor)
            app = start_app(folder, secret, args.server_core)
            servers.append(app)
            for server in servers:
                wait_ready(server)
                check_sample(server, deliveries, secret.encode())
            print("both servers answer a signed sample 202 and a wrong signature 401")
            plan: list[tuple[Server, str, int]] = []
            if args.warmup > 0:
                plan += [(floor, "warmup", args.warmup), (app, "warmup", args.warmup)]
            for r in range(1, args.rounds + 1):
                plan += [(floor, str(r), args.duration), (app, str(r), args.duration)]
            for server, label, seconds in plan:
                sample = load(
                    server,
                    manifest,
                    seconds=seconds,
                    connections=args.connections,
                    core=args.client_core,
                    label=label,
                )
                samples.append(sample)
                print(
                    f"  {label:>6} {server.name:<5} {sample.rps:8.0f} req/s  "
                    f"p99 {sample.p99_ms:.2f} ms",
                    flush=True,
                )
                if args.verbose:
                    print(sample.raw)
                time.sleep(1.0)  # let queued work (coalescing waits 0.5 s) finish
            peak_mb = {s.name: s.status_kb("VmHWM") / 1024 for s in servers}
        finally:
            for server in servers:
                server.stop()
            notes = [log_summary(server) for server in servers]
    met = report(samples, peak_mb, args)
    print()
    print("\n".join(notes))
    print(f"\n(total {time.monotonic() - started:.0f}s)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""Every Schemathesis check against a live gunicorn, once per role.

    python scripts/api_live_check.py                       # 25 examples per operation and role
    python scripts/api_live_check.py --max-examples 100 --roles coordinator

Makes a fresh SQLite database in a temporary directory (migrations, a small seeded demo with one
answered cycle), starts gunicorn with two workers on a free loopback port, and runs
`schemathesis run --checks all` against /api/v1/openapi.json with every phase (examples,
coverage, fuzzing, stateful), once as each of: nobody, a coordinator, a student, an SME. The
bearer token comes from the hooks in scripts/schemathesis_hooks.py, which issue a fresh one
whenever a generated call deleted the account or revoked the token (a 401 makes Schemathesis ask
again). Prints the failures per role and check, and exits 1 if there are any. Everything runs on
127.0.0.1 and stops itself; tests/api/test_api_live.py runs the same with fewer examples.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROLES = ("anonymous", "coordinator", "student", "sme")


def environment(work: Path) -> dict[str, str]:
    """A production configuration over a SQLite file, with limits out of the generator's way."""
    limits = {
        # Hundreds of generated sign-ups, logins and messages from one address: the limits have
        # their own tests (tests/api/test_api_ratelimit.py); here they would turn calls into 429s.
        key: "1000000"
        for key in (
            "API_SIGNUP_LIMIT_PER_ADDRESS",
            "API_TOKEN_LIMIT_PER_ACCOUNT",
            "API_TOKEN_LIMIT_PER_ADDRESS",
            "LOGIN_MAX_FAILURES",
            "LOGIN_MAX_FAILURES_PER_ADDRESS",
            "MESSAGE_LIMIT",
        )
    }
    env = {
        **os.environ,
        **limits,
        "APP_ENV": "production",
        "SECRET_KEY": "api-live-check",
        "DATABASE_URL": f"sqlite:///{work}/api.sqlite3",
        "SESSION_COOKIE_SECURE": "0",
        "UPLOAD_DIR": str(work / "uploads"),
        "MAIL_AFTER_COMMIT": "inline",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "scripts"), str(ROOT)]),
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
    }
    env.pop("MAIL_SERVER", None)  # mail goes to the outbox table
    return env


def prepare(env: dict[str, str], *, students: int = 12, smes: int = 6) -> None:
    """Migrate and seed: a few students and SMEs, one cycle answered (proposals, decisions)."""
    flask = [str(BIN / "flask"), "--app", "app"]
    for command in (
        ["db", "upgrade"],
        ["seed-demo", "--students", str(students), "--smes", str(smes), "--answer-cycles", "1"],
    ):
        subprocess.run([*flask, *command], cwd=ROOT, env=env, check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], work: Path, *, workers: int = 2) -> Iterator[str]:
    """The app served by gunicorn on a free port; yields its base URL and stops it after."""
    port = free_port()
    log = open(work / "gunicorn.log", "w")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            # Production settings but the test suite's cheaper scrypt: hundreds of generated
            # sign-ups and logins, each hashing a password, would otherwise take most of the run.
            "app:create_app({'PASSWORD_HASH_METHOD': 'scrypt:4096:8:1'})",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/v1/taxonomy", timeout=5):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "gunicorn did not start:\n" + (work / "gunicorn.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def run_schemathesis(
    base: str,
    env: dict[str, str],
    work: Path,
    role: str,
    *,
    max_examples: int,
    seed: int,
    extra: list[str] | None = None,
) -> tuple[int, list[dict[str, str]], str]:
    """`schemathesis run --checks all` as one role; its exit code, failures and output."""
    report = work / f"schemathesis-{role}.ndjson"
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        *(extra or []),
    ]
    result = subprocess.run(
        command,
        cwd=work,
        env={**env, "API_LIVE_ROLE": role},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, failures(report), result.stdout + result.stderr


def failures(report: Path) -> list[dict[str, str]]:
    """Each distinct failure in an ndjson report: the operation, the check and its title."""
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    if not report.exists():
        return []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        for _name, payload in event.items():
            if not isinstance(payload, dict):
                continue
            for check in _checks_in(payload):
                if check.get("status") != "failure":
                    continue
                failure = check.get("failure_info") or {}
                item = {
                    "label": str(payload.get("recorder", {}).get("label", "")),
                    "check": str(check.get("name", "")),
                    "title": str(failure.get("failure", {}).get("title", "")),
                }
                found[(item["label"], item["check"], item["title"])] = item
    return list(found.values())


def _checks_in(payload: dict) -> Iterator[dict]:  # type: ignore[type-arg]
    for checks in (payload.get("recorder") or {}).get("checks", {}).values():
        yield from checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args, extra = parser.parse_known_args()

    work = Path(tempfile.mkdtemp(prefix="api-live-"))
    env = environment(work)
    started = time.monotonic()
    prepare(env)
    total = 0
    with gunicorn(env, work) as base:
        print(
            f"gunicorn at {base}, data in {work} (prepared in {time.monotonic() - started:.0f} s)"
        )
        for role in args.roles.split(","):
            began = time.monotonic()
            code, found, output = run_schemathesis(
                base,
                env,
                work,
                role,
                max_examples=args.max_examples,
                seed=args.seed,
                extra=extra,
            )
            print(
                f"\n== {role}: exit {code}, {len(found)} failure(s), "
                f"{time.monotonic() - began:.0f} s"
            )
            for check, count in sorted(Counter(f["check"] for f in found).items()):
                print(f"   {check}: {count}")
            for item in found:
                print(f"   - {item['label']}: {item['check']}: {item['title']}")
            (work / f"schemathesis-{role}.txt").write_text(output)
            if code not in (0, 1) or (code == 1 and not found):
                print(output[-4000:])
            total += len(found) + (code != 0 and not found)
    print(f"\n{total} failure(s) in {time.monotonic() - started:.0f} s")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()

"""Several web workers and two schedulers for N cycle periods → exactly N cycles.

    python scripts/soak_scheduler.py --minutes 3            # SQLite file
    DATABASE_URL=postgresql+psycopg://... python scripts/soak_scheduler.py --minutes 3

Seeds demo data into a fresh database, starts gunicorn (4 workers, which must never run a cycle)
and TWO `flask scheduler` processes (the second one "by mistake") with a cycle every minute, waits
N minutes, stops everything, and counts the cycles: each minute must have run exactly one, and the
second scheduler must have said that it skipped. Everything runs on 127.0.0.1 and stops itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=3)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="soak-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{work}/soak.sqlite3"
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "soak",
        "DATABASE_URL": url,
        "MATCH_SCHEDULE": "* * * * *",
        "SESSION_COOKIE_SECURE": "0",
        "UPLOAD_DIR": work,
    }
    flask = [str(BIN / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "seed-demo", "--students", "300", "--smes", "200"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    logs = [open(f"{work}/{name}.log", "w") for name in ("web", "scheduler-1", "scheduler-2")]
    processes = [
        subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "app:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=logs[0],
            stderr=logs[0],
        ),
        subprocess.Popen([*flask, "scheduler"], cwd=ROOT, env=env, stdout=logs[1], stderr=logs[1]),
        subprocess.Popen([*flask, "scheduler"], cwd=ROOT, env=env, stdout=logs[2], stderr=logs[2]),
    ]
    # Give the schedulers time to come up, then count from the next minute boundary B0 and stop
    # half a minute before B0 + N minutes: the firings B0, B0+1, ..., B0+N-1 fall in between.
    time.sleep(30)
    time.sleep(61 - time.time() % 60)
    started = time.time()
    time.sleep(args.minutes * 60 - 30)
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(60)
    for log in logs:
        log.close()

    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import MatchCycle

    with create_app().app_context():
        cycles = db.session.scalars(select(MatchCycle).order_by(MatchCycle.id)).all()
    minutes = {int(c.started_at.timestamp() // 60) for c in cycles}
    skipped = sum(
        Path(f"{work}/{name}.log").read_text().count("skipped: another cycle is running")
        for name in ("scheduler-1", "scheduler-2")
    )
    print(
        f"database: {url.split(':', 1)[0]}; soak of {args.minutes} minute(s) from "
        f"{time.strftime('%H:%M', time.localtime(started))}"
    )
    print(
        f"cycles: {len(cycles)} ({', '.join(str(c.status) for c in cycles)}), "
        f"in {len(minutes)} distinct minutes; second-scheduler skips logged: {skipped}"
    )
    ok = len(cycles) == args.minutes == len(minutes) and all(c.status == "finished" for c in cycles)
    print("exactly one cycle per period" if ok else "NOT exactly one cycle per period", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

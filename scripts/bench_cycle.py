"""Benchmark a whole matching cycle against a real database.

    python scripts/bench_cycle.py                 # SQLite, 1,000 × 3,000 and 10,000 × 5,000
    DATABASE_URL=postgresql+psycopg://... python scripts/bench_cycle.py   # PostgreSQL as well

Each (database, size) runs in its own process: it migrates an empty database, seeds the demo
data (`flask seed-demo`'s service), runs one cycle through the same service the scheduler calls,
and reports the cycle record's load / engine / save times, the notification step that follows,
and the process's peak memory. The database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = ["1000x3000", "10000x5000"]


def run_one(url: str, students: int, smes: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.services import cycles, demo, notifications

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        started = time.perf_counter()
        demo.seed(students=students, smes=smes, seed=1)
        db.session.commit()
        seeded = time.perf_counter() - started

        started = time.perf_counter()
        # Notifications are measured on their own below.
        real_send, notifications.send_pending = notifications.send_pending, lambda: None
        cycle = cycles.run_cycle(trigger="cli")
        notifications.send_pending = real_send
        cycle_wall = time.perf_counter() - started
        started = time.perf_counter()
        queued = notifications.queue_new_proposals()
        db.session.commit()
        notify = time.perf_counter() - started
        result = {
            "database": db.engine.dialect.name,
            "size": f"{students}x{smes}",
            "seed_s": round(seeded, 2),
            "status": str(cycle.status),
            "pool": f"{cycle.n_students}x{cycle.n_smes}",
            "proposed": cycle.n_proposed,
            "load_s": cycle.load_seconds,
            "engine_s": cycle.engine_seconds,
            "save_s": cycle.save_seconds,
            "cycle_s": round(cycle_wall, 2),
            "notify_s": round(notify, 2),
            "emails": queued,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        if db.engine.dialect.name == "postgresql":
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=DEFAULT_SIZES, help="STUDENTSxSMES")
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "STUDENTS", "SMES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, students, smes = args.child
        print(json.dumps(run_one(url, int(students), int(smes))))
        return

    urls = []
    tmp = tempfile.mkdtemp(prefix="bench-cycle-")
    urls.append(("sqlite", f"sqlite:///{tmp}/bench.sqlite3"))
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        urls.append(("postgresql", os.environ["DATABASE_URL"]))
    header = (
        "database",
        "size",
        "pool",
        "proposed",
        "load_s",
        "engine_s",
        "save_s",
        "cycle_s",
        "notify_s",
        "emails",
        "peak_rss_mib",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, url in urls:
        for size in args.sizes:
            students, smes = size.lower().split("x")
            if name == "sqlite":
                Path(f"{tmp}/bench.sqlite3").unlink(missing_ok=True)
            out = subprocess.run(
                [sys.executable, __file__, "--child", url, students, smes],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
                env={**os.environ, "APP_ENV": "testing"},
            )
            if out.returncode != 0:
                print(f"| {name} | {size} | failed: {out.stderr.strip().splitlines()[-1]} |")
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print("| " + " | ".join(str(row[h]) for h in header) + " |", flush=True)


if __name__ == "__main__":
    main()

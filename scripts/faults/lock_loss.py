"""The lock-loss race on PostgreSQL: the cycle lock's connection dies mid-cycle, a second starts.

    DATABASE_URL=postgresql+psycopg://.../kx_me_faults python scripts/faults/lock_loss.py --rounds 5

Each round clears the proposals, starts cycle A (`flask match run`), waits until A is past its
pool read and computing, terminates the server process that holds A's advisory lock
(`pg_terminate_backend`, as a server restart or a network blip would), lets cycle B (a process
started beforehand, waiting) start at once, and waits for both. Checks: no student with two
open proposals, no SME over capacity, B finished, and A either saved before B took over or
failed with LockLost (never both saving).
The issue this guards against measured 8,954 students with two open proposals in one round.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from faultlib import (
    ROOT,
    Db,
    app_env,
    database_url,
    flask,
    fresh,
    machine_note,
    popen_flask,
    work_dir,
)

WARM_CYCLE = """
import sys
from app import create_app
from app.services import cycles
app = create_app()
with app.app_context():
    sys.stdin.readline()
    cycle = cycles.run_cycle(trigger="cli")
    print(cycle.id, cycle.status)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--smes", type=int, default=2500)
    args = parser.parse_args()
    work = work_dir("lock-loss-")
    url = database_url(work, need_postgresql=True)
    env = app_env(url, work)
    fresh(url, env, args.students, args.smes)
    db = Db(url)
    flask(env, "match", "run")
    timing = db.rows("SELECT load_seconds, engine_seconds FROM cycles ORDER BY id DESC LIMIT 1")[0]
    print(
        f"postgresql: {args.students} students × {args.smes} SMEs; load {timing[0]:.2f} s, "
        f"engine {timing[1]:.2f} s; {machine_note()}",
        flush=True,
    )

    bad = 0
    for round_no in range(1, args.rounds + 1):
        db.execute("DELETE FROM matches")
        last = db.scalar("SELECT max(id) FROM cycles")
        # B is started first and waits, imported and ready, so that it can take the lock the
        # moment A loses it (starting Python takes longer than A's engine on a loaded machine).
        second = subprocess.Popen(
            [sys.executable, "-c", WARM_CYCLE],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=open(work / f"b-{round_no}.log", "w"),  # noqa: SIM115
            text=True,
        )
        first = popen_flask(env, "match", "run", log=work / f"a-{round_no}.log")
        # Running, holding the lock, and past the pool read: the engine is computing.
        deadline = time.monotonic() + 300
        holder = None
        while time.monotonic() < deadline:
            holder = db.scalar("SELECT holder FROM cycle_lease WHERE id = 1")
            running = db.scalar(
                "SELECT count(*) FROM cycles WHERE id > :last AND status = 'running'", last=last
            )
            if running and holder and holder.startswith("pg:"):
                break
            time.sleep(0.05)
        time.sleep(timing[0] + 0.2 * timing[1])
        terminated = db.scalar("SELECT pg_terminate_backend(:pid)", pid=int(holder[3:]))
        assert second.stdin is not None
        second.stdin.write("go\n")
        second.stdin.close()
        second.wait(600)
        first.wait(600)
        records = db.rows(
            "SELECT id, status, n_proposed, coalesce(error, '') FROM cycles WHERE id > :last "
            "ORDER BY id",
            last=last,
        )
        a, b = records[0], records[-1]
        doubles = db.doubles()
        a_outcome = (
            "saved first"
            if a.status == "finished"
            else ("refused: LockLost" if "LockLost" in a[3] else f"{a.status}: {a[3][:80]}")
        )
        ok = (
            doubles == (0, 0)
            and b.status == "finished"
            and (a.status == "finished" or "LockLost" in a[3])
        )
        bad += not ok
        print(
            f"round {round_no}: lock connection terminated: {terminated}; A #{a.id} "
            f"{a_outcome} ({a.n_proposed} proposals); B #{b.id} {b.status} "
            f"({b.n_proposed}); students with two open proposals {doubles[0]}, SMEs over "
            f"capacity {doubles[1]} -> {'ok' if ok else 'VIOLATION'}",
            flush=True,
        )
    db.close()
    print(f"SUMMARY: {args.rounds} rounds, {bad} with a violation")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

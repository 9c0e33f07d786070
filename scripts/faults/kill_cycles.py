"""kill -9 matching cycles at random moments; the state stays whole and the next cycle runs at once.

    python scripts/faults/kill_cycles.py --kills 20                  # SQLite file
    DATABASE_URL=postgresql+psycopg://.../kx_me_faults python scripts/faults/kill_cycles.py

Seeds demo data, times one cycle, then for each round: clears the proposals (so every round has
a full pool), starts `flask match run`, kills it with SIGKILL at a random moment between 0 and
120 % of a cycle's time after its record appeared, and checks:
- the proposals are those before the kill, or exactly the killed cycle's if it had committed;
- the next `flask match run` starts without waiting (the lease of the dead process is freed at
  once) and marks the killed cycle's record failed ("interrupted");
- no student holds two open proposals and no SME is over capacity.
Prints one line per round and a summary. Bounded: about 2 × kills × a cycle's time.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time

from faultlib import Db, app_env, database_url, flask, fresh, machine_note, popen_flask, work_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--smes", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = work_dir("kill-cycles-")
    url = database_url(work)
    env = app_env(url, work)
    fresh(url, env, args.students, args.smes)
    db = Db(url)

    flask(env, "match", "run")
    cycle_time = float(db.scalar("SELECT load_seconds + engine_seconds + save_seconds FROM cycles"))
    print(
        f"{url.split(':', 1)[0]}: {args.students} students × {args.smes} SMEs; one cycle "
        f"{cycle_time:.1f} s from its record to its commit; {machine_note()}",
        flush=True,
    )

    summary = {"before_commit": 0, "after_commit": 0, "violations": 0}
    recoveries: list[float] = []
    refusals: list[int] = []
    for round_no in range(1, args.kills + 1):
        db.execute("DELETE FROM matches")
        before = db.matches()
        last_cycle = db.scalar("SELECT coalesce(max(id), 0) FROM cycles")
        process = popen_flask(env, "match", "run")
        # Kill relative to the cycle's own start (its `running` record), not the process's:
        # starting Python and importing scikit-learn is most of a short run's time.
        while not db.scalar("SELECT count(*) FROM cycles WHERE id > :last", last=last_cycle):
            time.sleep(0.02)
        delay = rng.uniform(0.0, 1.2) * cycle_time
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed = db.rows("SELECT id, status FROM cycles WHERE id > :last", last=last_cycle)
        after = db.matches()
        committed = bool(killed) and killed[0].status == "finished"
        problems = []
        if committed:
            summary["after_commit"] += 1
            n = db.scalar("SELECT n_proposed FROM cycles WHERE id = :id", id=killed[0].id)
            if len(after) != n:
                problems.append(f"{len(after)} proposals, record says {n}")
        else:
            summary["before_commit"] += 1
            if after != before:
                problems.append("proposals changed although the cycle never committed")
        # Recovery: the next cycle must not be refused for the dead holder's lease.
        t0 = time.monotonic()
        refused = 0
        while True:
            rerun = flask(env, "match", "run", check=False)
            if rerun.returncode != 3:  # 3: "another cycle is running"
                break
            refused += 1
            if time.monotonic() - t0 > 120:
                problems.append("cycles still refused 120 s after the kill")
                break
            time.sleep(1)
        recovery = time.monotonic() - t0
        recoveries.append(recovery)
        refusals.append(refused)
        if rerun.returncode != 0:
            problems.append(f"rerun failed: {rerun.stderr[-300:]}")
        if killed and not committed:
            status = db.scalar("SELECT status FROM cycles WHERE id = :id", id=killed[0].id)
            if status != "failed":
                problems.append(f"killed cycle's record is {status!r}, not failed")
        doubles = db.doubles()
        if doubles != (0, 0):
            problems.append(f"doubles {doubles}")
        summary["violations"] += bool(problems)
        print(
            f"round {round_no:3}: killed at {delay:5.2f} s, "
            f"{'after' if committed else 'before'} commit; next cycle refused {refused}×, done "
            f"{recovery:4.1f} s after the kill; {'; '.join(problems) or 'ok'}",
            flush=True,
        )
    db.close()
    print(
        f"SUMMARY {url.split(':', 1)[0]}: {args.kills} kills ({summary['before_commit']} before "
        f"the commit, {summary['after_commit']} after); rounds with a violation: "
        f"{summary['violations']}; the next cycle was refused {sum(refusals)} times in all and "
        f"had finished at most {max(recoveries):.1f} s after a kill (its own run included)"
    )
    sys.exit(1 if summary["violations"] else 0)


if __name__ == "__main__":
    main()

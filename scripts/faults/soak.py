"""Soak: 4 gunicorn workers, two schedulers, API-requested cycles and pairs by hand at once.

    python scripts/faults/soak.py --minutes 5                       # SQLite file
    DATABASE_URL=postgresql+psycopg://.../kx_me_faults python scripts/faults/soak.py --minutes 5

A cycle is scheduled every minute (two scheduler processes, the second "by mistake"); a
coordinator's client asks for a cycle through the API every 20 s (202, or 409 while one is
queued or running) and follows it to its end, and a second client pairs random students and SMEs
by hand twice a second, racing the cycles' saves. At the end: exactly one scheduled cycle per
minute, every requested cycle run by a scheduler (how long from 202 to finished), zero 5xx,
no student with two open proposals and no SME over capacity. Loopback only; stops itself.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import requests
from faultlib import (
    BIN,
    ROOT,
    Db,
    app_env,
    database_url,
    flask,
    free_port,
    fresh,
    machine_note,
    popen_flask,
    track,
    wait_for_port,
    work_dir,
)

PASSWORD = "soak-test-password-1"  # noqa: S105 - a throwaway account in a throwaway database


def minute_of(value: object) -> int:
    """A UTC timestamp's minute; SQLite hands raw SQL results back as text."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() // 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=5)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--smes", type=int, default=600)
    args = parser.parse_args()
    work = work_dir("soak-")
    url = database_url(work)
    env = app_env(url, work, MATCH_SCHEDULE="* * * * *")
    fresh(url, env, args.students, args.smes)
    flask(env, "create-coordinator", "soak@example.org", "--password", PASSWORD)
    db = Db(url)
    students = [r[0] for r in db.rows("SELECT id FROM students")]
    smes = [r[0] for r in db.rows("SELECT id FROM smes")]
    port = free_port()
    web_log = open(work / "web.log", "w")  # noqa: SIM115 - lives as long as the process
    processes = [
        track(
            subprocess.Popen(
                [str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{port}", "app:create_app()"],
                cwd=ROOT,
                env=env,
                stdout=web_log,
                stderr=web_log,
            )
        ),
        popen_flask(env, "scheduler", log=work / "scheduler-1.log"),
        popen_flask(env, "scheduler", log=work / "scheduler-2.log"),
    ]
    wait_for_port(port)
    base = f"http://127.0.0.1:{port}/api/v1"
    token = requests.post(
        f"{base}/tokens", json={"email": "soak@example.org", "password": PASSWORD}, timeout=300
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    print(
        f"{url.split(':', 1)[0]}: {args.students} students × {args.smes} SMEs, "
        f"{args.minutes} min; {machine_note()}",
        flush=True,
    )
    stop = threading.Event()
    codes: Counter[str] = Counter()
    waits: list[float] = []
    unfinished: list[int] = []

    def ask_for_cycles() -> None:
        while not stop.is_set():
            response = requests.post(f"{base}/cycles", headers=auth, timeout=300)
            codes[f"POST /cycles {response.status_code}"] += 1
            if response.status_code == 202:
                asked, url_ = time.monotonic(), response.json()["url"]
                status = "queued"
                while status in ("queued", "running") and time.monotonic() - asked < 180:
                    time.sleep(0.5)
                    poll = requests.get(f"http://127.0.0.1:{port}{url_}", headers=auth, timeout=300)
                    codes[f"GET /cycles/id {poll.status_code}"] += 1
                    status = poll.json().get("status", status)  # a 503 says: ask again
                if status == "finished":
                    waits.append(time.monotonic() - asked)
                else:
                    unfinished.append(response.json()["id"])
            stop.wait(20)

    def pair_by_hand() -> None:
        rng = random.Random(5)
        while not stop.is_set():
            body = {"student_id": rng.choice(students), "sme_id": rng.choice(smes)}
            response = requests.post(f"{base}/matches", json=body, headers=auth, timeout=300)
            codes[f"POST /matches {response.status_code}"] += 1
            stop.wait(0.5)

    threads = [threading.Thread(target=f, daemon=True) for f in (ask_for_cycles, pair_by_hand)]
    for thread in threads:
        thread.start()
    # Count from the next minute boundary, stop half a minute before the last one ends.
    time.sleep(61 - time.time() % 60)
    first_minute = int(time.time() // 60)
    time.sleep(args.minutes * 60 - 30)
    stop.set()
    for thread in threads:
        thread.join(200)
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(60)
    web_log.close()

    scheduled = db.rows(
        "SELECT id, status, scheduled_for, attempt FROM cycles WHERE trigger = 'schedule' "
        "ORDER BY id"
    )
    in_window = [
        c
        for c in scheduled
        if c.scheduled_for
        and first_minute <= minute_of(c.scheduled_for) < first_minute + args.minutes
    ]
    minutes = {minute_of(c.scheduled_for) for c in in_window}
    requested = db.rows("SELECT status, count(*) FROM cycles WHERE trigger = 'api' GROUP BY status")
    doubles = db.doubles()
    skipped = db.scalar("SELECT coalesce(sum(n_skipped), 0) FROM cycles")
    server_errors = sum(n for key, n in codes.items() if key.split()[-1].startswith("5"))
    print(
        f"scheduled cycles in the {args.minutes} minutes: {len(in_window)} "
        f"({dict(Counter(c.status for c in in_window))}) over {len(minutes)} distinct minutes"
    )
    print(
        f"requested through the API: {dict(requested)}; 202 → finished in "
        f"{min(waits, default=0):.1f}–{max(waits, default=0):.1f} s "
        f"(median {sorted(waits)[len(waits) // 2] if waits else 0:.1f} s); not finished: "
        f"{unfinished}"
    )
    print(f"answers: {dict(codes)}; 5xx: {server_errors}")
    print(f"proposals left out by saves because of a pair by hand meanwhile: {skipped}")
    print(f"students with two open proposals: {doubles[0]}; SMEs over capacity: {doubles[1]}")
    # A scheduled run is satisfied by any cycle that finished after it was due (one asked for
    # through the API included): per minute, at most one scheduled cycle, and some cycle.
    finished_minutes = {
        minute_of(r[0]) for r in db.rows("SELECT started_at FROM cycles WHERE status = 'finished'")
    }
    window = range(first_minute, first_minute + args.minutes)
    print(
        f"minutes of the window with a finished cycle: "
        f"{sum(m in finished_minutes for m in window)} of {args.minutes}"
    )
    ok = (
        len(in_window) == len(minutes)
        and all(m in finished_minutes for m in window)
        and all(c.status == "finished" for c in in_window)
        and not unfinished
        and server_errors == 0
        and doubles == (0, 0)
    )
    db.close()
    print("SUMMARY:", "ok" if ok else "VIOLATION", f"(logs in {work})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

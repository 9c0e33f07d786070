"""A 20-second PostgreSQL outage under load: 503 + Retry-After, never 500; the due cycle still runs.

    DATABASE_URL=postgresql+psycopg://.../kx_me_faults python scripts/faults/pg_outage.py

The application reaches PostgreSQL through a TCP relay on 127.0.0.1 that this script owns, so
the outage is "closing the port": the relay stops listening and cuts every open connection, as a
server crash or a network partition would, without touching the shared server. Starts gunicorn
(2 workers) and one scheduler whose only cycle is due in the middle of the outage; a client asks
for an API list, a logged-in page and /healthz four times a second throughout. Reports the
answers during and after the outage, how long after the database came back the first 200 came,
and the record of the cycle that was due while the database was down (a retry, attempt ≥ 2).
Bounded: about three minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

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
from sqlalchemy.engine import make_url


class Relay:
    """A TCP relay that can be switched off (listening socket closed, connections cut)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    async def _up(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()  # a reset, as when the server process dies
        self.writers.clear()
        await self.server.wait_closed()

    def up(self) -> None:
        asyncio.run_coroutine_threadsafe(self._up(), self.loop).result(10)

    def down(self) -> None:
        asyncio.run_coroutine_threadsafe(self._down(), self.loop).result(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=20.0, help="seconds")
    args = parser.parse_args()
    work = work_dir("pg-outage-")
    real_url = database_url(work, need_postgresql=True)
    env = app_env(real_url, work)
    fresh(real_url, env, 300, 200)
    flask(env, "create-coordinator", "coord@example.org", "--password", "outage-test-pass-1")
    target = make_url(real_url)
    relay = Relay((target.host or "127.0.0.1", target.port or 5432))
    relay.up()
    relayed = target.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)

    # The one scheduled cycle is due at a minute boundary M; the outage covers M - 10 s .. M + 10 s.
    now = datetime.now(UTC)
    # Far enough ahead for gunicorn and the scheduler to start on a loaded machine.
    due = (now + timedelta(seconds=240)).replace(second=0, microsecond=0)
    outage_at = due - timedelta(seconds=args.outage / 2)
    schedule = f"{due.minute} {due.hour} * * *"
    env = app_env(relayed, work, MATCH_SCHEDULE=schedule)
    port = free_port()
    web = subprocess_gunicorn(env, port, work)
    scheduler = popen_flask(env, "scheduler", log=work / "scheduler.log")
    wait_for_port(port)
    base = f"http://127.0.0.1:{port}"
    token = requests.post(
        f"{base}/api/v1/tokens",
        json={"email": "coord@example.org", "password": "outage-test-pass-1"},
        timeout=180,
    ).json()["token"]
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=180).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert csrf, "no CSRF token on the login page"
    browser.post(
        f"{base}/login",
        data={
            "email": "coord@example.org",
            "password": "outage-test-pass-1",
            "csrf_token": csrf.group(1),
        },
        timeout=180,
    )
    print(
        f"postgresql through relay :{relay.port}; cycle due {due:%H:%M:%S} UTC, outage "
        f"{outage_at:%H:%M:%S} + {args.outage:.0f} s; {machine_note()}",
        flush=True,
    )

    log: list[tuple[float, str, int, bool]] = []
    stop = threading.Event()

    def client() -> None:
        targets = [
            (
                "api",
                lambda: requests.get(
                    f"{base}/api/v1/matches",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=15,
                ),
            ),
            ("page", lambda: browser.get(f"{base}/coordinator/", timeout=15)),
            ("healthz", lambda: requests.get(f"{base}/healthz", timeout=15)),
        ]
        while not stop.is_set():
            for name, call in targets:
                try:
                    response = call()
                    log.append(
                        (time.time(), name, response.status_code, "Retry-After" in response.headers)
                    )
                except requests.RequestException:
                    log.append((time.time(), name, 0, False))
            time.sleep(0.25)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    if datetime.now(UTC) > outage_at:
        sys.exit("the processes took too long to start: the outage would come after the due time")
    time.sleep(max(0.0, (outage_at - datetime.now(UTC)).total_seconds()))
    down_at = time.time()
    relay.down()
    time.sleep(args.outage)
    relay.up()
    up_at = time.time()
    # The retry of the due cycle comes 30 s after its failed try; give it room to finish.
    deadline = time.time() + 150
    db = Db(real_url)
    record = None
    while time.time() < deadline:
        rows = db.rows(
            "SELECT id, status, attempt, scheduled_for, started_at, error "
            "FROM cycles WHERE trigger = 'schedule' ORDER BY id"
        )
        if rows and rows[-1].status == "finished":
            record = rows
            break
        time.sleep(2)
    stop.set()
    thread.join(30)
    for process in (web, scheduler):
        process.terminate()
        process.wait(60)

    during = [e for e in log if down_at <= e[0] < up_at]
    after = [e for e in log if e[0] >= up_at]
    print(
        "answers during the outage:", dict(Counter(f"{name} {code}" for _, name, code, _ in during))
    )
    no_retry_after = sum(1 for _, _, code, ra in during if code == 503 and not ra)
    print(
        f"503s without Retry-After: {no_retry_after}; 500s during or after: "
        f"{sum(1 for e in during + after if e[2] == 500)}"
    )
    firsts = {}
    for when, name, code, _ in after:
        if code == 200 and name not in firsts:
            firsts[name] = when - up_at
    print(
        "first 200 after the database came back (s):",
        {name: round(value, 1) for name, value in sorted(firsts.items())},
    )
    print("answers after:", dict(Counter(f"{name} {code}" for _, name, code, _ in after)))
    if record:
        for row in record:
            print(
                f"scheduled cycle #{row.id}: {row.status}, attempt {row.attempt}, due "
                f"{row.scheduled_for:%H:%M:%S}, started {row.started_at:%H:%M:%S}"
                + (f", error: {row.error[:100]}" if row.error else "")
            )
    else:
        print("the cycle due during the outage did NOT finish within 150 s of recovery")
    retries = (work / "scheduler.log").read_text().count("trying again in")
    print(f"scheduler log: {retries} retry line(s)")
    db.close()
    ok = record is not None and not any(e[2] == 500 for e in during + after) and not no_retry_after
    print("SUMMARY:", "ok" if ok else "VIOLATION", f"(logs in {work})")
    sys.exit(0 if ok else 1)


def subprocess_gunicorn(env: dict[str, str], port: int, work):  # type: ignore[no-untyped-def]
    import subprocess

    out = open(work / "web.log", "w")  # noqa: SIM115 - lives as long as the process
    return track(
        subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "app:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    )


if __name__ == "__main__":
    main()

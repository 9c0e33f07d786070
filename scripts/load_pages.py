"""The busiest pages under load: gunicorn with two workers, 20 concurrent clients.

    python scripts/load_pages.py                                  # SQLite file, seeded here
    DATABASE_URL=postgresql+psycopg://... python scripts/load_pages.py
    python scripts/load_pages.py --requests 400 --clients 20 --workers 2

Seeds a fresh database with the demo data (`flask seed-demo`'s service: 2,000 students and 600
SMEs by default), runs one matching cycle, then gives the first demo SME 20 pending candidates
and the first demo student 8 proposals (paired by hand as a coordinator would, so they carry
real scores and reasons). Then:

1. **Server time**, in process (Flask's test client, no network): the median time to render
   each page and the SQL statements it sends, over `--inprocess` renders.
2. **Under load**: gunicorn with `--workers` sync workers serves the app; `--clients` threads,
   each logged in as the page's reader, request the page `--requests` times in all, as fast as
   answers come back. Reported: requests/s, p50 and p95 latency, non-200 answers, and (new in
   session 12) the CPU per request of the gunicorn workers (from /proc, 10 ms ticks) and of the
   client threads, counted from the moment every client has logged in: CPU moves far less with
   the machine's load than latency does. A bare Flask route (one `return "ok"`, no database, no
   session, no template) is served and loaded the same way in the same run: the floor that
   gunicorn, the workers and the client threads set on this machine.

   Options for comparing deployments and clients (session 12; the defaults measure what
   sessions 4-11 measured): `--worker-class gthread --threads N` (gunicorn's threaded worker);
   `--connection keep-alive`, a client that talks HTTP/1.1 as a browser does (`Browser`: one
   connection reused while the server keeps it open, a new one when it closes it) instead of
   urllib's new connection per request (`Client`, the default). Against sync workers the two
   clients send the same requests and get the same answers (a sync worker closes every
   connection); keep-alive only changes anything against a server that keeps connections open.
   A sync worker waits for the client to close after each answer (gunicorn 27's graceful
   close, RFC 9112 §9.6): with 20 client threads in one process that wait includes a thread's
   wait for the GIL, which a browser on another machine does not have; clients in separate
   processes were tried (session 12) and were worse on two shared cores, not better.

On PostgreSQL the seeded tables are vacuumed and analyzed before anything is measured
(`settle`), as autovacuum has long done in any deployment that has run a while. Left to
autovacuum, its first round on the fresh tables came about a minute after the seed, in the middle
of the pages under load (vacuum and analysis of every table, then every cached plan planned
again): which page it hit moved from run to run (session 11: the proposals' p95 49 ms in one
run, 92 in another).

Pages: the SME's candidates (`/sme/candidates`), the student's proposals (`/student/proposals`),
the coordinator's matches list (`/coordinator/matches`) and dashboard (`/coordinator/`).
Traffic goes to 127.0.0.1 only, the number of requests is fixed, and every gunicorn started
here is stopped at the end. Not a timed test: the figures go in the README.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import http.client
import http.cookiejar
import http.cookies
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAGES = [
    ("sme", "/sme/candidates"),
    ("student", "/student/proposals"),
    ("coordinator", "/coordinator/matches"),
    ("coordinator", "/coordinator/"),
]


def bare_app() -> Any:
    """The floor: Flask answering a constant, nothing else (gunicorn 'load_pages:bare_app()')."""
    from flask import Flask

    app = Flask("bare")

    @app.route("/")
    def ok() -> str:
        return "ok"

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(students: int, smes: int) -> dict[str, str]:
    """Demo data, one cycle, 20 candidates for the first SME, 8 proposals for the first student."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import SME, Match, MatchStatus, Role, Student, User
    from app.services import cycles, decisions, demo
    from app.services.errors import Conflict

    app = create_app()
    with app.app_context():
        result = demo.seed(students=students, smes=smes, seed=1)
        db.session.commit()
        cycles.run_cycle(trigger="cli")
        db.session.commit()
        logins = {role: (email, password) for role, email, password in result.logins}
        coordinator = db.session.scalar(select(User).where(User.role == Role.COORDINATOR))
        sme = db.session.scalar(select(SME).join(User).where(User.email == logins["sme"][0]))
        student = db.session.scalar(
            select(Student).join(User).where(User.email == logins["student"][0])
        )
        assert coordinator is not None and sme is not None and student is not None
        sme.capacity = 20
        pending = db.session.scalar(
            select(func.count(Match.id)).where(
                Match.sme_id == sme.id, Match.status == MatchStatus.PROPOSED
            )
        )
        busy = select(Match.student_id).where(Match.sme_id == sme.id)
        others = db.session.scalars(
            select(Student.id).where(Student.id.notin_(busy)).order_by(Student.id)
        ).all()
        wanted = max(20 - (pending or 0), 0)
        for sid in others:
            if wanted == 0:
                break
            try:  # students who withheld consent to provision or paused are refused
                decisions.pair(sid, sme.id, coordinator, reason="load test", override=True)
                wanted -= 1
            except Conflict:
                continue
        taken = select(Match.sme_id).where(Match.student_id == student.id)
        for mid in db.session.scalars(
            select(SME.id).where(SME.id.notin_(taken)).order_by(SME.id).limit(7)
        ):
            decisions.pair(student.id, mid, coordinator, reason="load test", override=True)
        db.session.commit()
        who = {
            "sme": logins["sme"][0],
            "student": logins["student"][0],
            "coordinator": coordinator.email,
            "password": logins["sme"][1],
        }
        db.session.remove()
        db.engine.dispose()  # its server process ends, and reports what it wrote (`settle`)
        return who


def settle(url: str) -> None:
    """PostgreSQL: `VACUUM ANALYZE` the freshly seeded database now, so that autovacuum's first
    round (within `autovacuum_naptime` of the seed, a minute by default) does not fall in the
    measured runs, and the plans are those of a deployment whose statistics are up to date.

    A server process reports the rows it wrote to the statistics at most once a second, and
    its last second's only when idle for ten: the seed's, reported after this analysis, made
    autovacuum analyze every table again a minute later, inside the pages' load (one run of
    four, session 11). So the seed's connections are closed first (a server process reports
    all before it leaves `pg_stat_activity`), and this waits until they are gone."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    others = sqlalchemy.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    try:
        with engine.connect() as conn:
            for _ in range(100):
                if not conn.execute(others).scalar():
                    break
                time.sleep(0.1)
            conn.execute(sqlalchemy.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def in_process(who: dict[str, str], renders: int) -> dict[str, tuple[float, float, int, int, int]]:
    """Median server time and CPU time (ms), SQL statements, rows and Python calls per page, no
    network.

    CPU time (this thread's) is what the request costs the machine, and it moves far less than
    wall time when other processes share the cores; SQLite runs inside this thread, so its work
    counts. Python function calls per render (cProfile over 10 more renders) do not depend on
    the load at all: the figure to compare before and after a change on a busy machine."""
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app()
    out = {}
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append("")

    for role, path in PAGES:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        client.post(
            "/login",
            data={
                "email": who[role],
                "password": who["password"],
                "csrf_token": token.group(1) if token else "",
            },
        )
        times = []
        with app.app_context():
            engine = db.engine
        statements.clear()

        cpu = []
        for n in range(renders + 3):
            started, started_cpu = time.perf_counter(), time.thread_time()
            response = client.get(path)
            took, took_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code} in process")
            if n >= 3:  # the first renders warm caches (templates, translations)
                times.append(took)
                cpu.append(took_cpu)
        # Counted in renders of their own: while the engine's statements are listened to, the
        # pages send them through SQLAlchemy's execution, not on the driver (plain_reads.rows)
        event.listen(engine, "before_cursor_execute", count)
        for _ in range(renders):
            client.get(path)
        event.remove(engine, "before_cursor_execute", count)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(10):
            client.get(path)
        profile.disable()
        calls = pstats.Stats(profile).total_calls // 10  # type: ignore[attr-defined]
        html = response.get_data(as_text=True)
        # cards on the review pages, table rows on the matches list; the dashboard has none
        rows = html.count('id="match-') + html.count('name="match_ids"')
        out[path] = (
            statistics.median(times) * 1000,
            statistics.median(cpu) * 1000,
            len(statements) // renders,
            rows,
            calls,
        )
    return out


class Client:
    """One logged-in client as sessions 4-11 measured it (`--connection close`, the default):
    urllib, which asks the server to close the connection after every answer; a cookie jar."""

    def __init__(self, base: str, email: str, password: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        if email:
            page = self.opener.open(f"{base}/login", timeout=60).read().decode()
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
            data = urllib.parse.urlencode(
                {
                    "email": email,
                    "password": password,
                    "csrf_token": token.group(1) if token else "",
                }
            ).encode()
            self.opener.open(urllib.request.Request(f"{base}/login", data=data), timeout=60)

    def get(self, path: str) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            response = self.opener.open(f"{self.base}{path}", timeout=60)
            response.read()
            status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        return status, time.perf_counter() - started


class Browser:
    """One logged-in client as a browser talks HTTP/1.1 (`--connection keep-alive`): one
    connection, reused for the next request as long as the server keeps it open, a new one when
    the server closes it (a sync worker closes after every answer); the whole answer read at
    once; the cookies the server set sent back; never following redirects. A request on a kept
    connection the server closed meanwhile (its keep-alive timeout) is sent again on a new one,
    as browsers do, and timed as one."""

    def __init__(self, base: str, email: str, password: str) -> None:
        address = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(
            address.hostname or "127.0.0.1", address.port, timeout=60
        )
        self.cookies: dict[str, str] = {}
        if email:
            _status, page = self._send("GET", "/login")
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.decode())
            form = {
                "email": email,
                "password": password,
                "csrf_token": token.group(1) if token else "",
            }
            self._send(
                "POST",
                "/login",
                urllib.parse.urlencode(form).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"},
            )

    def _send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.connection.sock is not None
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if reused and attempt == 1:
                    continue  # the server closed the idle connection: once more, on a new one
                raise
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in http.cookies.SimpleCookie(header).items():
                    if morsel.value and morsel["max-age"] != "0":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
            return response.status, data
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status, _body = self._send("GET", path)
        except (http.client.HTTPException, OSError):
            self.connection.close()
            status = 0
        return status, time.perf_counter() - started


CLIENTS = {"close": Client, "keep-alive": Browser}


def _timed_requests(browser: Any, path: str, count: int) -> list[tuple[int, float, float]]:
    """`count` requests of `path`, each as (status, when it was sent, how long it took)."""
    out = []
    for _ in range(count):
        sent = time.perf_counter()
        status, took = browser.get(path)
        out.append((status, sent, took))
    return out


def server_cpu(server: Any) -> float:
    """CPU seconds the gunicorn workers of `server` have used so far (Linux: from /proc)."""
    total = 0
    if server is None:
        return float("nan")
    try:
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as children:
            workers = children.read().split()
        for pid in workers:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    except OSError:
        return float("nan")
    return total / os.sysconf("SC_CLK_TCK")


def load(
    base: str,
    path: str,
    email: str,
    password: str,
    clients: int,
    requests: int,
    *,
    connection: str = "keep-alive",
    server: Any = None,
) -> str:
    """`clients` logged-in clients, threads of this process, request `path` `requests` times
    in all, each as soon as its previous answer is read. The clock and the CPU counts start once
    every client has logged in. `connection`: `keep-alive` (`Browser`) or `close` (`Client`,
    sessions 4-11). The workers' CPU (`server_cpu`) and this process's are reported per request."""
    per = [requests // clients + (1 if n < requests % clients else 0) for n in range(clients)]
    kind = CLIENTS[connection]
    # Two logins at a time (setup, not measured): each hashes the password (~0.13 s of CPU)
    # inside SQLite's write lock, and twenty at once on threaded workers waited past its 10 s
    # busy timeout under load (503s, session 12).
    logins = threading.Semaphore(2)

    def logged_in(_n: int) -> Any:
        with logins:
            return kind(base, email, password)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        browsers = list(pool.map(logged_in, range(clients)))
        worker_cpu, cpu, started = server_cpu(server), time.process_time(), time.perf_counter()
        parts = list(pool.map(lambda n: _timed_requests(browsers[n], path, per[n]), range(clients)))
        client_cpu = time.process_time() - cpu
    timed = [r for part in parts for r in part]
    took = max(sent + spent for _, sent, spent in timed) - started
    worker_cpu = server_cpu(server) - worker_cpu
    latencies = sorted(spent for _, _, spent in timed)
    odd = collections.Counter(status for status, _, _ in timed if status != 200)
    bad = ", ".join(f"{n} × {status or 'no answer'}" for status, n in sorted(odd.items())) or "0"
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] * 1000
    return (
        f"{len(timed) / took:.0f} | {p50:.1f} | {p95:.1f} | {bad} | "
        f"{worker_cpu * 1000 / len(timed):.2f} | {client_cpu * 1000 / len(timed):.2f}"
    )


def serve(
    app_spec: str,
    workers: int,
    env: dict[str, str],
    chdir: Path,
    worker_class: str = "sync",
    threads: int = 1,
    log: Any = subprocess.DEVNULL,
) -> tuple[Any, str]:
    port = free_port()
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "-w",
            str(workers),
            "-k",
            worker_class,
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--chdir",
            str(chdir),
            app_spec,
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{base}/", timeout=2)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.2)
    return server, base


def _stop(signum: int, frame: Any) -> None:
    # `timeout` or Ctrl-C: unwind through the `finally`s, so no gunicorn is left behind
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--smes", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=400, help="per page")
    parser.add_argument("--inprocess", type=int, default=50, help="renders per page, in process")
    parser.add_argument(
        "--no-load", action="store_true", help="in process only: no gunicorn, no clients"
    )
    parser.add_argument(
        "--worker-class", default="sync", help="gunicorn's worker class (sync, or gthread)"
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker, with --worker-class gthread"
    )
    parser.add_argument(
        "--connection",
        choices=("keep-alive", "close"),
        default="close",
        help="a new connection per request (urllib, as sessions 4-11), or reuse one as browsers do",
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/pages.sqlite3"
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "load-test",
        "DATABASE_URL": url,
        "SESSION_COOKIE_SECURE": "0",
        "UPLOAD_DIR": tempfile.mkdtemp(),
    }
    if url.startswith("postgresql"):
        sys.path.insert(0, str(ROOT))
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    subprocess.run(
        [BIN / "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    os.environ.update(env)
    started = time.perf_counter()
    who = seed(args.students, args.smes)
    if url.startswith("postgresql"):
        settle(url)
    print(
        f"seeded {args.students:,} students, {args.smes:,} SMEs and one cycle "
        f"in {time.perf_counter() - started:.0f} s ({url.split(':')[0]}); "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    print("\nServer time, in process (median of", args.inprocess, "renders):\n")
    print("| page | rows | ms per request | CPU ms per request | SQL statements | Python calls |")
    print("|---|---|---|---|---|---|")
    for path, (ms, cpu_ms, queries, rows, calls) in in_process(who, args.inprocess).items():
        print(
            f"| `{path}` | {rows} | {ms:.1f} | {cpu_ms:.1f} | {queries} | {calls:,} |", flush=True
        )
    if args.no_load:
        return

    # gunicorn turns a sync worker with more than one thread into gthread: one unless asked
    threads = args.threads if args.worker_class == "gthread" else 1
    how = f"{args.worker_class} workers" + (f" of {threads} threads" if threads > 1 else "")
    print(
        f"\nUnder load: gunicorn, {args.workers} {how}, {args.clients} concurrent clients "
        f"(connection: {args.connection}), {args.requests} requests per page:\n"
    )
    print("| page | requests/s | p50 ms | p95 ms | non-200 | worker CPU ms | client CPU ms |")
    print("|---|---|---|---|---|---|---|")
    served = {"workers": args.workers, "worker_class": args.worker_class, "threads": threads}
    way = {"connection": args.connection}
    server, base = serve("load_pages:bare_app()", env=env, chdir=ROOT / "scripts", **served)
    try:
        line = load(base, "/", "", "", args.clients, args.requests, server=server, **way)
        print(f"| bare Flask route | {line} |", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    server, base = serve("app:create_app()", env=env, chdir=ROOT, **served)
    try:
        for role, path in PAGES:
            line = load(
                base,
                path,
                who[role],
                who["password"],
                args.clients,
                args.requests,
                server=server,
                **way,
            )
            print(f"| `{path}` | {line} |", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

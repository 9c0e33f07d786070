"""What the fault scripts share: a database to break, the app's commands, and the invariants.

Everything runs on 127.0.0.1. PostgreSQL scripts take DATABASE_URL and WIPE that database's
`public` schema: point them at a database kept for this (e.g. `kx_<name>_faults`), never at one
with data you want.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLASK = [str(BIN / "flask"), "--app", "app"]
DOUBLE_STUDENTS = (
    "SELECT count(*) FROM (SELECT student_id FROM matches "
    "WHERE status IN ('proposed', 'approved', 'active') "
    "GROUP BY student_id HAVING count(*) > 1) t"
)
SMES_OVER_CAPACITY = (
    "SELECT count(*) FROM smes s JOIN (SELECT sme_id, count(*) AS n FROM matches "
    "WHERE status IN ('proposed', 'approved', 'active') GROUP BY sme_id) u "
    "ON u.sme_id = s.id WHERE u.n > s.capacity"
)


_CHILDREN: list[subprocess.Popen[Any]] = []


def _stop_children() -> None:
    """Never leave a server or scheduler behind, however the script ends."""
    for child in _CHILDREN:
        if child.poll() is None:
            child.terminate()
    for child in _CHILDREN:
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()


atexit.register(_stop_children)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def track(process: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
    _CHILDREN.append(process)
    return process


def work_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def database_url(work: Path, need_postgresql: bool = False) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if need_postgresql and not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL=postgresql+psycopg://... (a database this script may wipe)")
    return url or f"sqlite:///{work}/faults.sqlite3"


def app_env(url: str, work: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "fault-injection",
        "DATABASE_URL": url,
        "SESSION_COOKIE_SECURE": "0",
        "UPLOAD_DIR": str(work / "uploads"),
        "MATCH_SCHEDULE": "0 0 1 1 *",  # never, unless a script says otherwise
        "SCHEDULER_TIMEZONE": "UTC",
        **extra,
    }


def flask(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def popen_flask(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[Any]:
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    return track(subprocess.Popen([*FLASK, *args], cwd=ROOT, env=env, stdout=out, stderr=out))


def fresh(url: str, env: dict[str, str], students: int, smes: int) -> None:
    """An empty schema, migrated, with demo data."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    flask(env, "db", "upgrade")
    flask(env, "seed-demo", "--students", str(students), "--smes", str(smes), "--seed", "7")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


class Db:
    """Plain SQL on the database under test (no app import: it must see what others wrote)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, pool_pre_ping=True)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def doubles(self) -> tuple[int, int]:
        """(students with two open proposals, SMEs over capacity): both must stay 0."""
        return int(self.scalar(DOUBLE_STUDENTS)), int(self.scalar(SMES_OVER_CAPACITY))

    def matches(self) -> set[tuple[Any, ...]]:
        return {tuple(r) for r in self.rows("SELECT id, student_id, sme_id, status FROM matches")}

    def close(self) -> None:
        self.engine.dispose()


def machine_note() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} "
        "(other engineers' test suites share the machine)"
    )

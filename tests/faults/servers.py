"""Real processes for the fault suite: gunicorn serving the app, a private PostgreSQL, a patient load.

Nothing here touches the shared PostgreSQL: each test starts its own cluster
(initdb + pg_ctl, as the `postgres` user, on a free port, in a temporary
folder) and stops, freezes or sets it read-only at will.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_ID = re.compile(r"/thanks/([A-Za-z0-9_-]+)")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.RequestException, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready within {seconds} s")


def app_environment(database_url: str, folder: Path, **settings: str) -> dict[str, str]:
    """The environment of a production-configured app on `database_url`, its spool in `folder`."""
    return {
        **os.environ,
        "FLASK_ENV_CONFIG": "production",
        "SECRET_KEY": "fault-suite-secret-key-0123456789",
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(folder / "instance"),
        "SPOOL_PATH": str(folder / "spool.jsonl"),
        "RATELIMIT_ENABLED": "false",
        "MIN_FILL_SECONDS": "0",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        "DATABASE_STATEMENT_TIMEOUT_MS": "2000",
        "SQLITE_BUSY_TIMEOUT_MS": "1000",
        "LOG_LEVEL": "WARNING",
        **settings,
    }


def flask(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` with `env`."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=check, timeout=120,
    )


def add_users(database_url: str, role: str, password: str, usernames: list[str]) -> None:
    """Staff accounts in a migrated database, made by the app's own service."""
    from leads.app import create_app
    from leads.extensions import db
    from leads.services.accounts import create_user

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        for username in usernames:
            create_user(username, role, password)
        db.engine.dispose()


def signed_in(base: str, username: str, password: str) -> tuple[requests.Session, str]:
    """A session of staff signed in at the production-configured `base`, and its queue page's CSRF token.

    Production marks the session cookie Secure, which a client keeps off plain http: it is sent
    back by hand.  No redirect is followed: requests drops a hand-set Cookie header on one, and the
    login page's own address (/login?next=/operator/) must not pass for the queue.
    """
    session = requests.Session()

    def keep_the_session_cookie(response, *args, **kwargs) -> None:
        for cookie in response.cookies:
            if cookie.name == "session":
                session.headers["Cookie"] = f"session={cookie.value}"

    session.hooks["response"].append(keep_the_session_cookie)
    page = session.get(f"{base}/login", timeout=30)
    login = session.post(f"{base}/login", data={"username": username, "password": password,
                                                "csrf_token": CSRF.search(page.text).group(1)},
                         allow_redirects=False, timeout=30)
    if login.status_code != 303:
        raise RuntimeError(f"{username} could not sign in (login answered {login.status_code})")
    queue = session.get(f"{base}/operator/", allow_redirects=False, timeout=30)
    if queue.status_code != 200:
        raise RuntimeError(f"{username}'s queue answered {queue.status_code} {queue.headers.get('Location', '')}")
    return session, CSRF.search(queue.text).group(1)


class Gunicorn:
    """`gunicorn wsgi:app` on a free port with `env`; its access log in `folder`."""

    ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s'

    def __init__(self, env: dict[str, str], folder: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = folder / "access.log"
        self.error_log = folder / "gunicorn.log"
        command = [
            sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--timeout", "30", "--graceful-timeout", "5",
            "--access-logfile", str(self.access_log), "--access-logformat", self.ACCESS_FORMAT,
            "--error-logfile", str(self.error_log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        wait_for(lambda: requests.get(f"{self.url}/consent", timeout=2).ok, 30, "gunicorn")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, run as the `postgres` user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        account = pwd.getpwnam("postgres")
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, account.pw_uid, account.pw_gid)
        self._as_postgres(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        self.start()

    @staticmethod
    def available() -> bool:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return bool(shutil.which("initdb") and shutil.which("pg_ctl")) and os.geteuid() == 0

    def _as_postgres(self, command: list[str]) -> None:
        account = pwd.getpwnam("postgres")

        def become_postgres() -> None:
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)

        done = subprocess.run(command, capture_output=True, text=True, preexec_fn=become_postgres, timeout=60, cwd="/tmp")
        if done.returncode:
            raise RuntimeError(f"{command[0]} failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} -c fsync=off"
        self._as_postgres(["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "pg.log"), "-w", "start"])

    def stop(self) -> None:
        """Stop at once, as a crash would (`-m immediate`)."""
        self._as_postgres(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def processes(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True)
        return [postmaster, *(int(pid) for pid in children.stdout.split())]

    def freeze(self) -> list[int]:
        """SIGSTOP every process of the cluster: it accepts TCP and answers nothing."""
        frozen = self.processes()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        return frozen

    def thaw(self, frozen: list[int]) -> None:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)

    def set_read_only(self, read_only: bool) -> None:
        """Every transaction read-only from now on (sessions open already included), as on a standby."""
        value = "on" if read_only else "off"
        self.sql(f"ALTER SYSTEM SET default_transaction_read_only = {value}", "SELECT pg_reload_conf()")

    def sql(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def destroy(self) -> None:
        try:
            self.stop()
        except RuntimeError:  # not running
            pass


@dataclass
class Load:
    """Patients posting the embedded form and the API from a few threads, until stopped.

    Every acknowledged request (303 to a thanks page, 201) is noted by its
    public id; every other answer by its status.
    """

    base_url: str
    threads: int = 4
    acknowledged: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    _counter: int = 0

    def start(self) -> Load:
        for number in range(self.threads):
            worker = threading.Thread(target=self._run, args=(number,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> Load:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return self

    def _next_phone(self) -> str:
        with self._lock:
            self._counter += 1
            return f"+7916{self._counter:07d}"

    def _run(self, number: int) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            phone = self._next_phone()
            started = time.monotonic()
            try:
                if number % 2:
                    response = session.post(
                        f"{self.base_url}/api/v1/leads",
                        json={"name": "Пётр", "phone": phone, "consent": True, "utm": {"utm_source": "fault"}},
                        timeout=25,
                    )
                    public_id = response.json().get("public_id") if response.status_code == 201 else None
                else:
                    response, public_id = self._post_form(session, phone)
            except requests.RequestException:
                self._note(0, None, started)
                continue
            self._note(response.status_code, public_id, started)

    def _post_form(self, session: requests.Session, phone: str) -> tuple[requests.Response, str | None]:
        page = session.get(f"{self.base_url}/embed", timeout=25)
        if page.status_code != 200:
            return page, None
        started = re.search(r'name="started" type="hidden" value="([^"]*)"', page.text)
        data = {"name": "Анна", "phone": phone, "consent": "y", "started": started.group(1) if started else ""}
        response = session.post(
            f"{self.base_url}/embed", data=data, headers={"Origin": self.base_url}, allow_redirects=False, timeout=25
        )
        found = PUBLIC_ID.search(response.headers.get("Location", "")) if response.status_code == 303 else None
        return response, (found.group(1) if found else None)

    def _note(self, status: int, public_id: str | None, started: float) -> None:
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.slowest = max(self.slowest, time.monotonic() - started)
            if public_id:
                self.acknowledged.append(public_id)

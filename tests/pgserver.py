"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests: ``initdb`` into a temporary folder,
``postgres`` on a free port with its socket in that folder, trust auth for the ``postgres`` role.

Started in its own process group and killed by group at teardown, so nothing outlives the test
session. PostgreSQL refuses to run as root: under root (CI) the cluster is owned by and run as
``nobody``. Binaries: ``initdb``/``postgres`` on PATH, else Debian's /usr/lib/postgresql/*/bin
(the ``postgresql`` package, which .ci/run installs).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from procs import free_port, kill_group

UNPRIVILEGED = "nobody"


def pg_bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres`` (the newest Debian version if several)."""
    candidates = []
    for exe in ("initdb", "postgres"):
        found = shutil.which(exe)
        if found:
            candidates.append(Path(os.path.realpath(found)).parent)

    def version(p: str) -> tuple[int, ...]:
        part = Path(p).parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit()) or (0,)

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for d in candidates:
        if (d / "initdb").is_file() and (d / "postgres").is_file():
            return d
    raise RuntimeError("PostgreSQL server binaries (initdb, postgres) not found: apt-get install postgresql "
                       "(.ci/run does)")


@dataclass
class PgServer:
    proc: subprocess.Popen
    port: int
    workdir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.workdir / "postgres.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        kill_group(self.proc, grace=15, first=signal.SIGINT)  # "fast" shutdown: ends open sessions too
        shutil.rmtree(self.workdir, ignore_errors=True)


def _run_as() -> dict:
    """Popen arguments that drop root to an unprivileged user (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return {}
    pw = pwd.getpwnam(UNPRIVILEGED)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def start_postgres(timeout: float = 60.0) -> PgServer:
    """Start a cluster and wait until it accepts connections. The folder is made under /tmp
    (not pytest's tmp_path, which is private to root and so unreachable for ``nobody``)."""
    import psycopg

    bindir = pg_bindir()
    # /tmp, not $TMPDIR: it must be reachable by `nobody`, and the socket path must stay short (≤107 bytes).
    workdir = Path(tempfile.mkdtemp(prefix="yunshen-pg-", dir="/tmp" if os.access("/tmp", os.W_OK) else None))
    drop = _run_as()
    if drop:
        os.chown(workdir, drop["user"], drop["group"])
    data, sock = workdir / "data", workdir / "sock"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
    init = subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
         "--locale=C", "--no-sync"],
        capture_output=True, text=True, env=env, cwd=workdir, timeout=120, **drop,
    )
    if init.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({init.returncode}):\n{init.stdout}\n{init.stderr}")
    if drop:
        os.mkdir(sock)
        os.chown(sock, drop["user"], drop["group"])
    else:
        sock.mkdir()
    port = free_port()
    log = open(workdir / "postgres.log", "wb")  # noqa: SIM115 — the child keeps writing to it
    if drop:
        os.chown(workdir / "postgres.log", drop["user"], drop["group"])
    proc = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(sock),
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=40", "-c", "shared_buffers=32MB"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True, **drop,
    )
    log.close()
    server = PgServer(proc, port, workdir)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            text = server.log()
            server.stop()
            raise RuntimeError(f"postgres exited ({proc.returncode}):\n{text}")
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2):
                return server
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                text = server.log()
                server.stop()
                raise RuntimeError(f"postgres not ready after {timeout:.0f}s:\n{text}") from None
            time.sleep(0.1)

"""A real Prefect server (`prefect server start`) on 127.0.0.1 for tests.

Started in its own process group with its own ``PREFECT_HOME`` (a temporary folder, SQLite); ready
when ``/api/health`` answers; killed by process group at teardown, then checked: no process of
that group may be left. Killing the group (not just the ``prefect`` process) matters: the server
starts children of its own, and an *ephemeral* Prefect server (the one Prefect starts inside a
flow's process when no ``PREFECT_API_URL`` is set) outlives a SIGKILLed parent — measured, see
``docs/scale-out.md``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from procs import free_port, group_members, kill_group


@dataclass
class PrefectServer:
    proc: subprocess.Popen
    api_url: str
    home: Path

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        kill_group(self.proc)

    def leftovers(self) -> list[int]:
        return group_members(self.pgid)


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:  # noqa: S310 - 127.0.0.1
            return resp.status == 200
    except OSError:
        return False


def start_prefect_server(home: Path, timeout: float = 180.0) -> PrefectServer:
    """`prefect server start` on a free port of 127.0.0.1; returns once the API answers."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        DO_NOT_TRACK="1",
    )
    cmd = [
        str(Path(sys.executable).with_name("prefect")),
        "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui", "--analytics-off",
    ]
    log = open(home / "server.out", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = PrefectServer(proc, f"http://127.0.0.1:{port}/api", home)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise RuntimeError(f"prefect server exited early: {(home / 'server.out').read_text(errors='replace')[-2000:]}")
        if _healthy(server.api_url):
            return server
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"prefect server not healthy after {timeout}s: {(home / 'server.out').read_text(errors='replace')[-2000:]}")

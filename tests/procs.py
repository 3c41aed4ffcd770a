"""Processes as /proc shows them, and stopping a server by its process group — shared by the
server fixtures and the leftover check.

Tests must prove that servers they start are gone afterwards; reading /proc (Linux) needs no
extra package and sees processes of every user (when run as root, as CI does).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Proc:
    pid: int
    state: str
    ppid: int
    pgid: int

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")

    def read(self, name: str) -> bytes:
        """``/proc/<pid>/<name>`` (``cmdline``, ``environ``…), empty when gone or unreadable."""
        try:
            with open(f"/proc/{self.pid}/{name}", "rb") as fh:
                return fh.read()
        except OSError:
            return b""

    @property
    def cmdline(self) -> str:
        return self.read("cmdline").replace(b"\0", b" ").decode(errors="replace").strip()


def proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:  # exited while we looked
        return None
    return Proc(pid, fields[0], int(fields[1]), int(fields[2]))


def processes() -> list[Proc]:
    """Every process there is now (zombies included: filter on ``alive``)."""
    found = (proc(int(e)) for e in os.listdir("/proc") if e.isdigit())
    return [p for p in found if p is not None]


def alive(pid: int) -> bool:
    p = proc(pid)
    return p is not None and p.alive


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    return [p.pid for p in processes() if p.pgid == pgid and p.alive]


def children(ppid: int) -> dict[int, str]:
    """Live children of ``ppid``: pid → command line."""
    return {p.pid: p.cmdline for p in processes() if p.ppid == ppid and p.alive}


def kill_group(proc: subprocess.Popen, grace: float = 10.0, first: int = signal.SIGTERM) -> None:
    """Send ``first`` to the process group led by ``proc`` (started with ``start_new_session``),
    SIGKILL what is still there after ``grace`` seconds, reap: the group is gone on return."""
    pgid = proc.pid
    for sig, wait in ((first, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is not None and not group_members(pgid):
                break
            time.sleep(0.2)
        if proc.poll() is not None and not group_members(pgid):
            break
    proc.wait(timeout=10)

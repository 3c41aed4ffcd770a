"""After `make test`: no process the test session started may still be running.

The session's fixtures start real servers (SeaweedFS, Prefect, PostgreSQL, uvicorn, Chromium, Dask
workers) in their own process groups and kill them by group; Prefect's *ephemeral* server outlives
a SIGKILLed parent (measured, docs/scale-out.md). This check makes "nothing left behind" a
failure, not a hope. A process belongs to the session when its environment carries the marker
``YUNSHEN_TEST_SESSION`` (set in tests/conftest.py, inherited by every child) or its command
line names a session temporary folder.

Usage: ``python tests/leftovers.py [--wait SECONDS]``; exit 1 and a list when something is left.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

MARKERS_CMDLINE = (b"/pytest-of-", b"/yunshen-pg-", b"/yunshen-prefect-")
MARKER_ENV = b"YUNSHEN_TEST_SESSION="


def _read(pid: str, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def leftovers() -> list[tuple[int, str]]:
    mine = {os.getpid(), os.getppid()}
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in mine:
            continue
        stat = _read(pid, "stat")
        if not stat or stat.rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X"):
            continue
        cmdline = _read(pid, "cmdline")
        if MARKER_ENV in _read(pid, "environ") or any(m in cmdline for m in MARKERS_CMDLINE):
            found.append((int(pid), cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", type=float, default=20.0, help="grace period for exiting processes")
    args = parser.parse_args()
    deadline = time.monotonic() + args.wait
    while (left := leftovers()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if left:
        print(f"{len(left)} process(es) of the test session still running:", file=sys.stderr)
        for pid, cmd in left:
            print(f"  {pid}  {cmd}", file=sys.stderr)
        return 1
    print("no process of the test session left behind")
    return 0


if __name__ == "__main__":
    sys.exit(main())

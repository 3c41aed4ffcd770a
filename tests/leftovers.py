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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import processes  # noqa: E402 - run as a script from the Makefile

MARKERS_CMDLINE = (b"/pytest-of-", b"/yunshen-pg-", b"/yunshen-prefect-")
MARKER_ENV = b"YUNSHEN_TEST_SESSION="


def leftovers() -> list[tuple[int, str]]:
    mine = {os.getpid(), os.getppid()}
    found = []
    for p in processes():
        if p.pid in mine or not p.alive:
            continue
        cmdline = p.read("cmdline")
        if MARKER_ENV in p.read("environ") or any(m in cmdline for m in MARKERS_CMDLINE):
            found.append((p.pid, p.cmdline[:200]))
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

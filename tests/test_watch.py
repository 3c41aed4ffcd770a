"""The watched upload folder: bursts of uploads, a watcher killed with SIGKILL and restarted —
every application screened exactly once per content version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import text_pdf, write

pytestmark = pytest.mark.slow


def _app_files(i: int) -> dict[str, bytes]:
    company = f"江苏测试{i:02d}科技有限公司"
    files = {
        "申请表.pdf": text_pdf([["星级上云企业评定申请表", f"申报企业：{company}", "填报日期：2024年3月1日"]]),
        "合同/云服务合同.pdf": text_pdf([["云服务合同", f"合同编号：HT-2024-{i:03d}", f"甲方：{company}", "乙方：阿里云计算有限公司", "违约责任"]]),
    }
    for k in range(8):
        files[f"截图/说明{k}.pdf"] = text_pdf([["情况说明", f"第{k}页 {company} 特此说明"]])
    return files


def _start(inbox: Path, outbox: Path, store: Path) -> subprocess.Popen:
    env = dict(os.environ, YUNSHEN_CACHE_DIR=str(store))
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "watch", str(inbox), "--outbox", str(outbox),
         "--quiet", "1.5", "--poll", "0.3", "--stop-after", "600"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def _ledger(store: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (store / "watch" / "ledger").rglob("*.json")]


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_bursts_crash_and_restart_screen_each_version_exactly_once(tmp_path):
    inbox, outbox, store = tmp_path / "inbox", tmp_path / "outbox", tmp_path / "store"
    inbox.mkdir()
    proc = _start(inbox, outbox, store)
    try:
        # 20 applications × 10 files = 200 files, dropped in bursts of 4 applications
        for burst in range(5):
            for i in range(burst * 4, burst * 4 + 4):
                for name, data in _app_files(i).items():
                    write(inbox / f"APP-{i:02d}" / name, data)
            time.sleep(0.5)
            if burst == 2:  # kill the watcher mid-way, restart it
                _wait(lambda: len(_ledger(store)) >= 2, 120)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                proc = _start(inbox, outbox, store)
        assert _wait(lambda: len(_ledger(store)) >= 20, 300), len(_ledger(store))
        # a later change is a new version: screened again, once
        write(inbox / "APP-03" / "补充说明.pdf", text_pdf([["补充说明", "特此说明"]]))
        assert _wait(lambda: len(_ledger(store)) >= 21, 120)
        time.sleep(3)  # several more passes: nothing else may be screened
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    entries = _ledger(store)
    versions = [(e["application_id"], e["fingerprint"]) for e in entries]
    assert len(versions) == len(set(versions)) == 21
    per_app = {}
    for app, _ in versions:
        per_app[app] = per_app.get(app, 0) + 1
    assert per_app == {f"APP-{i:02d}": (2 if i == 3 else 1) for i in range(20)}
    results = sorted(p.name for p in outbox.glob("APP-*.json"))
    assert results == [f"APP-{i:02d}.json" for i in range(20)]
    stored = list((store / "results").rglob("*.json"))
    assert len(stored) == 21  # one stored result per content version, never two
    assert (outbox / "summary.xlsx").exists()

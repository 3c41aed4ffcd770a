from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from builders import text_pdf, write

YUNSHEN = [sys.executable, "-m", "pipeline.cli"]


def run(*args: str, cwd: Path, env_cache: Path) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, YUNSHEN_CACHE_DIR=str(env_cache))
    return subprocess.run([*YUNSHEN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_version_and_help(tmp_path):
    from pipeline import __version__

    r = run("--version", cwd=tmp_path, env_cache=tmp_path / "c")
    assert r.returncode == 0 and __version__ in r.stdout
    r = run("screen", "--help", cwd=tmp_path, env_cache=tmp_path / "c")
    assert r.returncode == 0 and "--out" in r.stdout and "--workers" in r.stdout


def test_usage_errors_exit_2(tmp_path):
    r = run("screen", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), cwd=tmp_path, env_cache=tmp_path / "c")
    assert r.returncode == 2 and "no such path" in r.stderr
    (tmp_path / "emptydir").mkdir()
    r = run("screen", str(tmp_path / "emptydir"), "--out", str(tmp_path / "o"), cwd=tmp_path, env_cache=tmp_path / "c")
    assert r.returncode == 2


def test_screens_a_text_only_intake_without_ocr(tmp_path):
    intake = tmp_path / "intake"
    write(intake / "APP-T1" / "申请表.pdf", text_pdf([["星级上云企业评定申请表", "申报企业：江苏测试科技有限公司", "填报日期：2024年3月1日", "云服务部署模型：公有云", "上云开始时间：2023年1月"]]))
    write(intake / "APP-T1" / "合同" / "云服务合同.pdf", text_pdf([["云服务合同", "合同编号：HT-2024-001", "甲方：江苏测试科技有限公司", "乙方：阿里云计算有限公司", "签订日期：2024年1月1日", "违约责任"]]))
    write(intake / "APP-T1" / "坏文件.pdf", b"%PDF-1.7 broken")
    write(intake / "APP-T2" / "营业执照.pdf", text_pdf([["营业执照", "统一社会信用代码 91320100MA1XXXXX0X", "名称 江苏测试科技有限公司", "法定代表人 张三", "注册资本 伍佰万元整", "成立日期 2015年06月01日", "经营范围 软件开发", "登记机关"]]))
    out = tmp_path / "out"
    r = run("screen", str(intake), "--out", str(out), cwd=tmp_path, env_cache=tmp_path / "cache")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.glob("*.json")) == ["APP-T1.json", "APP-T2.json"]
    t1 = json.loads((out / "APP-T1.json").read_text(encoding="utf-8"))
    kinds = {d["file"]: d["kind"] for d in t1["documents"]}
    assert kinds == {"申请表.pdf": "application_form", "合同/云服务合同.pdf": "contract", "坏文件.pdf": "other"}
    assert all(d["ocr_pages"] == 0 for d in t1["documents"])
    bad = next(d for d in t1["documents"] if d["file"] == "坏文件.pdf")
    assert bad["error"] and "损坏" in bad["error"]
    codes = [f["code"] for f in t1["flags"]]
    assert "FILE_UNREADABLE" in codes and "LICENCE_MISSING" in codes
    t2 = json.loads((out / "APP-T2.json").read_text(encoding="utf-8"))
    assert t2["documents"][0]["kind"] == "licence"
    assert "LICENCE_MISSING" not in [f["code"] for f in t2["flags"]]
    assert "APP-T1" in r.stdout and "APP-T2" in r.stdout
    assert t1["stats"]["ocr_calls"] == 0


def test_reprocess_prints_the_verdicts_that_changed(tmp_path):
    import yaml

    from judge_fixtures import documents_from_truth
    from pipeline.model import ScreeningResult
    from pipeline.rules import DEFAULT_RULES, load_rules
    from pipeline.screen import apply_judgement

    results = tmp_path / "results"
    results.mkdir()
    for app in ("APP-01", "APP-04"):
        r = ScreeningResult(application_id=app, screened_at="2026-11-25T10:00:00+08:00", documents=documents_from_truth(app))
        (results / f"{app}.json").write_text(apply_judgement(r, load_rules()).to_json(), encoding="utf-8")
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    data["version"] = "2026.test"
    data["spend"]["threshold_yuan"] = 40000
    strict = tmp_path / "strict.yaml"
    strict.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = run("reprocess", str(results), "--rules", str(strict), cwd=tmp_path, env_cache=tmp_path / "c")
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("APP-")]
    assert len(lines) == 1 and lines[0].startswith("APP-01") and "结论" in lines[0]  # APP-04 already failed
    assert "SPEND_BELOW_THRESHOLD" in lines[0]
    stored = json.loads((results / "APP-01.json").read_text(encoding="utf-8"))
    assert stored["rules_version"] == "2026.test" and stored["verdict"]["meets_star_sought"] is False

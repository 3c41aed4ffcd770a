"""``yunshen purge``: one application's originals, OCR/seal cache, every result version and its
output files are gone from the store (local files and the real S3 server) — checked by listing
the store and by searching every object for the application's personal data — while another
application is untouched and a file both filed is kept.

The applications are built here (text PDFs plus one small scanned-looking PNG each, so the OCR
and seal caches really get entries); screening them costs two small OCR calls.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from builders import image_bytes, render_lines, text_pdf
from pipeline.cache import OcrCache
from pipeline.cli import app
from pipeline.pages import OcrRunner
from pipeline.report import write_csv
from pipeline.results import load_result_file, save_result
from pipeline.screen import screen_application
from pipeline.settings import Settings
from pipeline.storage import Store, open_store

pytestmark = pytest.mark.slow  # real OCR model, real S3 server

NAME, PHONE = "欧阳明远", "13912345678"
"""A's legal representative and phone number: personal data that must leave every store."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class World:
    settings: Settings
    store: Store
    out: Path
    shared_sha: str
    a_shas: set[str]
    keys_without_a: set[str]


def _applications(root: Path) -> dict[str, dict[str, bytes]]:
    shared = text_pdf([["数据和设备上云情况说明", "本公司设备数据已接入云平台。"]])
    return {
        "APP-A": {
            "合同.pdf": text_pdf([["云服务合同", f"甲方法定代表人：{NAME}", f"联系电话：{PHONE}",
                                   "合同金额：人民币 36,000.00 元"]]),
            "截图.png": image_bytes(render_lines(["云服务器实例列表", f"联系人 {NAME} 电话 {PHONE}"], size=(900, 420))),
            "说明.pdf": shared,
        },
        "APP-B": {"说明.pdf": shared, "申请表.pdf": text_pdf([["星级上云企业评定申请表", "法定代表人：李四"]])},
        "APP-C": {
            "发票.pdf": text_pdf([["电子发票（普通发票）", "价税合计 ¥12,000.00"]]),
            "截图.png": image_bytes(render_lines(["对象存储 OSS", "存储桶列表"], size=(900, 420))),
        },
    }


def _screen(app_dir: Path, settings: Settings, store: Store, out: Path, versions: int = 1) -> None:
    runner = OcrRunner(settings, OcrCache(store))
    result = screen_application(app_dir, settings, runner)
    for n in range(versions):  # a re-screening: another version of the result in the store
        save_result(result.model_copy(update={"screened_at": f"{result.screened_at}#{n}"}), out, settings)


def _keys(store: Store) -> set[str]:
    return set(store.list(""))


def _build(tmp_path: Path, settings: Settings) -> World:
    store = open_store(settings)
    out = tmp_path / "out"
    apps = _applications(tmp_path)
    shas: dict[str, set[str]] = {}
    for app_id, files in apps.items():
        folder = tmp_path / "intake" / app_id
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
            store.put_if_absent(f"originals/{_sha(data)}", data)  # an intake that keeps originals
        shas[app_id] = {_sha(d) for d in files.values()}
    for app_id in ("APP-B", "APP-C"):
        _screen(tmp_path / "intake" / app_id, settings, store, out)
    shared_sha = _sha(apps["APP-A"]["说明.pdf"])
    # what the store holds without A — A's own original objects are the only A-only keys so far
    keys_without_a = {k for k in _keys(store) if not any(s in k for s in shas["APP-A"] - {shared_sha})}
    _screen(tmp_path / "intake" / "APP-A", settings, store, out, versions=2)
    write_csv([load_result_file(p) for p in sorted(out.glob("APP-*.json"))], out / "summary.csv")
    return World(settings, store, out, shared_sha, shas["APP-A"], keys_without_a)


def _holding(store: Store, needle: str) -> list[str]:
    """Keys of every object whose bytes contain ``needle`` (UTF-8 or JSON-escaped)."""
    forms = [needle.encode(), json.dumps(needle).strip('"').encode()]
    return [k for k in store.list("") if any(f in (store.get(k) or b"") for f in forms)]


def _check(world: World, cli_env: dict[str, str], cli_args: list[str]) -> None:
    store = world.store
    before = _keys(store)
    a_keys = before - world.keys_without_a
    assert len([k for k in a_keys if k.startswith("results/APP-A/")]) == 2
    assert any(k.startswith("cache/ocr/") for k in a_keys), "A's screenshot was OCR'd into the cache"
    assert _holding(store, PHONE), "A's phone number is in the store before the purge"

    result = CliRunner().invoke(app, ["purge", "APP-A", "--out", str(world.out), *cli_args], env=cli_env)
    assert result.exit_code == 0, result.output
    counts = dict(line.removeprefix("removed ").split(": ") for line in result.stdout.splitlines()
                  if line.startswith("removed "))
    assert counts["results"] == "2" and counts["originals"] == "2" and counts["output_files"] == "1"
    assert int(counts["ocr_cache"]) >= 1
    assert "kept 1 file(s)" in result.stdout

    after = _keys(store)
    assert after == world.keys_without_a  # exactly A's objects are gone, B's and C's all there
    assert not [k for k in after if k.startswith("results/APP-A/")]
    assert _holding(store, PHONE) == [] and _holding(store, NAME) == []
    assert f"originals/{world.shared_sha}" in after  # B still files the shared PDF
    assert not any(s in k for k in after for s in world.a_shas - {world.shared_sha})
    assert sorted(p.name for p in world.out.glob("*.json")) == ["APP-B.json", "APP-C.json"]
    assert load_result_file(world.out / "APP-B.json").application_id == "APP-B"
    rows = list(csv.reader((world.out / "summary.csv").open(encoding="utf-8-sig")))
    assert [r[0] for r in rows[1:]] == ["APP-B", "APP-C"]
    assert not any(PHONE in f.read_text(encoding="utf-8", errors="replace") for f in world.out.rglob("*") if f.is_file())

    again = CliRunner().invoke(app, ["purge", "APP-A", "--out", str(world.out), "--yes", *cli_args], env=cli_env)
    assert again.exit_code == 1 and "nothing found" in again.output  # nothing of it left to find


def test_purge_local_store(tmp_path) -> None:
    settings = Settings(cache_dir=tmp_path / "store")
    world = _build(tmp_path, settings)
    _check(world, {"YUNSHEN_STORE": "local"}, ["--store-dir", str(tmp_path / "store"), "--yes"])


def test_purge_s3_store(tmp_path, s3_store, s3_server) -> None:
    from s3server import ACCESS_KEY, SECRET_KEY

    env = {
        "YUNSHEN_STORE": "s3", "YUNSHEN_S3_ENDPOINT": s3_server.endpoint, "YUNSHEN_S3_ACCESS_KEY": ACCESS_KEY,
        "YUNSHEN_S3_SECRET_KEY": SECRET_KEY, "YUNSHEN_S3_BUCKET": "yunshen-test", "YUNSHEN_S3_SECURE": "false",
        "YUNSHEN_S3_PREFIX": s3_store.prefix,
    }
    settings = Settings(store="s3", s3_endpoint=s3_server.endpoint, s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY,
                        s3_bucket="yunshen-test", s3_secure=False, s3_prefix=s3_store.prefix,
                        cache_dir=tmp_path / "unused-local")
    world = _build(tmp_path, settings)
    assert not (tmp_path / "unused-local").exists()  # everything went to S3
    _check(world, env, ["--yes"])


def test_purge_dry_run_changes_nothing_and_bad_ids_are_refused(tmp_path) -> None:
    store_dir = tmp_path / "store"
    settings = Settings(cache_dir=store_dir)
    store = open_store(settings)
    store.put("results/APP-X/r/v.json", b"{}")
    before = _keys(store)
    r = CliRunner().invoke(app, ["purge", "APP-X", "--store-dir", str(store_dir), "--out", str(tmp_path / "o"),
                                 "--dry-run"], env={"YUNSHEN_STORE": "local"})
    assert r.exit_code == 0 and "results 1" in r.stdout
    assert _keys(store) == before
    for bad in ("../etc", "a/b", ".."):
        r = CliRunner().invoke(app, ["purge", bad, "--store-dir", str(store_dir), "--yes"], env={"YUNSHEN_STORE": "local"})
        assert r.exit_code == 2, (bad, r.output)
    assert _keys(store) == before

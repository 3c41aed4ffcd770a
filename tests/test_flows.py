"""The Prefect flows (ephemeral mode): batch screening, caching on content, local vs S3 store."""

from __future__ import annotations

import json
import shutil

import pytest

from builders import text_pdf, write
from conftest import SAMPLES

pytestmark = pytest.mark.slow


def _comparable(result: dict) -> dict:
    result = dict(result)
    result.pop("screened_at", None)
    result.pop("stats", None)
    return result


@pytest.fixture
def intake(tmp_path):
    root = tmp_path / "intake"
    shutil.copytree(SAMPLES / "APP-01", root / "APP-01")
    write(root / "APP-BROKEN" / "申请表.pdf", b"%PDF-1.7 not a pdf")
    write(root / "APP-BROKEN" / "合同.pdf", text_pdf([["云服务合同", "甲方：某公司", "乙方：阿里云计算有限公司"]]))
    return root


def test_batch_flow_local_and_s3_give_identical_results_and_cache_on_content(
    intake, tmp_path, s3_server, sample_store, monkeypatch
):
    from flows.screening import screen_batch
    from pipeline.settings import Settings
    from s3server import ACCESS_KEY, SECRET_KEY

    local = Settings(cache_dir=sample_store)
    summary = screen_batch(str(intake), str(tmp_path / "out-local"), workers=1, settings_json=local.to_json())
    assert set(summary) == {"APP-01", "APP-BROKEN"}
    assert summary["APP-01"]["meets_star_sought"] is True
    broken = json.loads((tmp_path / "out-local" / "APP-BROKEN.json").read_text(encoding="utf-8"))
    assert any(f["code"] == "FILE_UNREADABLE" for f in broken["flags"])
    assert (tmp_path / "out-local" / "summary.xlsx").exists()

    monkeypatch.setenv("YUNSHEN_S3_SECRET_KEY", SECRET_KEY)  # secrets travel by environment only
    s3 = Settings(store="s3", s3_endpoint=s3_server.endpoint, s3_access_key=ACCESS_KEY,
                  s3_secure=False, s3_bucket="yunshen-flows")
    assert SECRET_KEY not in s3.to_json()
    screen_batch(str(intake), str(tmp_path / "out-s3"), workers=2, settings_json=s3.to_json(), refresh=True)
    for app in ("APP-01", "APP-BROKEN"):
        a = json.loads((tmp_path / "out-local" / f"{app}.json").read_text(encoding="utf-8"))
        b = json.loads((tmp_path / "out-s3" / f"{app}.json").read_text(encoding="utf-8"))
        assert _comparable(a) == _comparable(b), app
    client = s3_server.client()
    keys = [o.object_name for o in client.list_objects("yunshen-flows", recursive=True)]
    assert any(k.startswith("results/APP-01/2019.1/") for k in keys)
    assert any(k.startswith("cache/ocr/") for k in keys)

    # same content again, renamed folder location: the screening task is served from Prefect's cache
    moved = tmp_path / "elsewhere"
    shutil.copytree(intake, moved)
    from prefect.client.orchestration import get_client  # noqa: F401 - ensures the API is up

    again = screen_batch(str(moved), str(tmp_path / "out-again"), workers=1, settings_json=local.to_json())
    assert again == summary

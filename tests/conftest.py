from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SAMPLES = ROOT / "samples" / "applications"
TRUTH = ROOT / "samples" / "truth"


@pytest.fixture
def settings(tmp_path):
    from pipeline.settings import Settings

    return Settings(cache_dir=tmp_path / "cache")

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Prefect: a throw-away home per test session, no telemetry, quiet logs (set before it is imported).
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="yunshen-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# Every process the session starts inherits this marker: tests/leftovers.py (run by `make test`
# after pytest) fails when one of them is still running.
os.environ["YUNSHEN_TEST_SESSION"] = str(os.getpid())

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SAMPLES = ROOT / "samples" / "applications"
TRUTH = ROOT / "samples" / "truth"


@pytest.fixture
def settings(tmp_path):
    from pipeline.settings import Settings

    return Settings(cache_dir=tmp_path / "cache")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real SeaweedFS S3 server on 127.0.0.1 for the whole session, killed by process group."""
    from s3server import start_s3

    server = start_s3(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture
def s3_store(s3_server, request):
    """A fresh bucket prefix on the test S3 server, as a yunshen store."""
    from pipeline.storage import S3Store
    from s3server import ACCESS_KEY, SECRET_KEY

    prefix = request.node.name.replace("[", "-").replace("]", "")[:60]
    return S3Store(s3_server.endpoint, ACCESS_KEY, SECRET_KEY, "yunshen-test", secure=False, prefix=prefix)


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory):
    """One OCR cache for the session's sample screenings (starts empty: the first pass OCRs)."""
    return tmp_path_factory.mktemp("sample-store")


@pytest.fixture(scope="session")
def sample_readings(sample_store):
    """Every sample application read once with the real OCR model: (settings, {id: reading})."""
    from pipeline.pages import OcrRunner
    from pipeline.screen import read_application
    from pipeline.settings import Settings

    settings = Settings(cache_dir=sample_store)
    runner = OcrRunner.from_settings(settings)
    apps = sorted(p for p in SAMPLES.iterdir() if p.is_dir())
    return settings, {app.name: read_application(app, settings, runner) for app in apps}

"""The screening record is the commit point of a batch's stored result (pipeline/resume.py)."""

from __future__ import annotations

from pipeline.resume import record_screening, screening_counts, stored_result
from pipeline.results import store_key
from pipeline.rules import load_rules
from pipeline.settings import Settings
from pipeline.storage import LocalStore


def test_a_result_without_its_record_is_not_resumed_and_is_counted_once_when_redone(tmp_path):
    settings = Settings(cache_dir=tmp_path / "store")
    store = LocalStore(tmp_path / "store")
    result = '{"application_id": "APP-01", "x": 1}'
    # a run killed between storing the result and writing its record left this behind
    store.put(store_key("APP-01", load_rules(settings.rules_file).version, "v1"), result.encode())
    assert stored_result(store, settings, "APP-01", "v1") is None

    record_screening(store, settings, result, "v1", "APP-01")  # the re-run screens and commits it
    assert stored_result(store, settings, "APP-01", "v1") == result
    assert screening_counts(store) == {("APP-01", "v1"): 1}
    assert stored_result(store, settings, "APP-01", "v2") is None  # other content: screened anew

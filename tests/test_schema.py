from __future__ import annotations

import json

import jsonschema

from pipeline.schema import SCHEMA_FILE, render


def test_checked_in_schema_matches_the_model():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), (
        "pipeline/data/result-v1.schema.json is stale: run `python -m pipeline.schema`"
    )


def test_schema_rejects_a_result_missing_keys():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors({"schema": "yunshen.result/v1", "application_id": "A"}))
    missing = {e.message.split("'")[1] for e in errors if e.validator == "required"}
    assert {"documents", "flags", "verdict", "applicant", "purchases"} <= missing

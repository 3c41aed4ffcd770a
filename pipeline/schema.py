"""The JSON Schema of ``yunshen.result/v1``, generated from :mod:`pipeline.model`.

``python -m pipeline.schema`` rewrites ``pipeline/data/result-v1.schema.json``; a test fails
when the checked-in file differs from what the model generates, so the two never drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipeline.model import SCHEMA_ID, ScreeningResult

SCHEMA_FILE = Path(__file__).with_name("data") / "result-v1.schema.json"


def generate() -> dict:
    schema = ScreeningResult.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "yunshen screening result v1"
    # every key is always written (null where the evidence does not say), so all are required
    for obj in [schema, *schema.get("$defs", {}).values()]:
        if "properties" in obj:
            obj["required"] = sorted(obj["properties"])
    return schema


def render() -> str:
    return json.dumps(generate(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> int:
    SCHEMA_FILE.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

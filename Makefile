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

# The suite runs on three workers (pytest-xdist), a test file to a worker: most of its time is spent waiting on
# servers, subprocesses, real-time streams and browsers. On two cores, two workers took 1611 s; three took 1375 s,
# the CPUs busy 1.7 of 2 on average (CI, whose limit is 30 minutes, had reached 1770 s with two). Every test
# makes its own databases, buckets, ports and folders; PYTEST_WORKERS=0 runs it in one process. CI took 1648 s on
# 2026-12-05 (the suite 1214 s to 1346 s here); the browser modules' one shared demo and `offsite` commands that no
# longer import supervision at start brought the suite to 1021 s here (2026-12-07, 3325 tests); a busier day's four
# runs of 3328 to 3356 tests took 1143 s to 1224 s here. CI took 2109 s on 2026-12-07 (the suite 1849 s here that day); the
# demo with its learning loop then ran once instead of twice, PostgreSQL tests were emptied by DELETE, not TRUNCATE, and
# the law's YAML read by libyaml (3652 tests 1276 s before, 3662 tests 1418 s after on a slower hour; summed 3648 s
# and 3956 s: the same machine varies by more than these changes save, which each measured on its own). CI took 1704 s
# on that commit. On 2026-12-07 evening, 3749 tests took 1697 s here (summed 4699 s), on an hour when the same 201
# tests of test_bad_input took 81.6 s against 69.5 s the evening before: the machine, not the new tests.
PYTEST_WORKERS ?= 3
pytest: venv chromium footage train-env
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test: lint typecheck contracts pytest

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

# The reader's commands: `make book` and `make test` (both create .venv on first use).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= quick
CH ?=
# CPU build of torch by default; for a GPU: make book TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.installed

.PHONY: book test chapter status bench lint clean help

help:
	@echo "make book                      create .venv, run every chapter (quick), build _build/html"
	@echo "make test                      the whole test suite"
	@echo "make chapter CH=name SCALE=... rerun one chapter (quick|full)"
	@echo "make status                    the reproduction table in the terminal"
	@echo "make bench                     speed benchmarks (book machine, each chapter's cold quick run against its 4-minute budget, speakers, DeepScores)"

$(STAMP): lib/pyproject.toml lib/constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "dlwild needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --retries 1 --timeout 20 --no-deps \
		--extra-index-url $(TORCH_INDEX) -c lib/constraints.txt torch
	$(BIN)/python -m pip install --quiet -c lib/constraints.txt -e "lib[book,test]"
	touch $@

book: $(STAMP)
	$(BIN)/dlwild book --scale $(SCALE)

test: $(STAMP)
	$(BIN)/python -m pytest tests

chapter: $(STAMP)
	@test -n "$(CH)" || { echo "usage: make chapter CH=<chapter> [SCALE=quick|full]"; exit 2; }
	$(BIN)/dlwild run $(CH) --scale $(SCALE)

status: $(STAMP)
	$(BIN)/dlwild status

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/chapters.py
	$(BIN)/python benchmarks/speakers.py --quick
	$(BIN)/python benchmarks/deepscores.py
	$(BIN)/python benchmarks/l2c.py --quick
	$(BIN)/python benchmarks/adversarial.py
	$(BIN)/python benchmarks/wild.py
	$(BIN)/python benchmarks/dominant_sets.py
	$(BIN)/python benchmarks/sweep.py

lint: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks

clean:
	rm -rf _build results notebooks/*.ipynb book/_generated

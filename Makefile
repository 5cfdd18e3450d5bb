# citebot — the two commands of the README: `make run` and `make test`.
# Both set up .venv on first use: CPU torch first (from the local wheel), then citebot
# with its test extras, with torch pinned so nothing pulls a CUDA build.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.citebot-installed

.PHONY: run test install lint bench eval clean help

help:            ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

run: $(STAMP)    ## index seeds/ if needed, then the Telegram bot (token set) or the terminal chat
	$(BIN)/citebot run

test: $(STAMP)   ## run the test suite
	$(BIN)/pytest -q

install: $(STAMP) ## create .venv and install citebot with its test extras

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

lint: $(STAMP)   ## ruff
	$(BIN)/ruff check .

eval: $(STAMP)   ## answer and quote quality on the labelled set (bench/)
	$(BIN)/python bench/answer_eval.py
	$(BIN)/python bench/quotes_eval.py

clean:           ## remove .venv and caches (not ./data)
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

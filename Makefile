# SmoothTask: `make run` and `make test` do all set-up on first use (scripts/setup.sh).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Reinstall when the set of modules changes (the strict editable install links files).
SOURCES := $(shell find helper smoothtask_gui bpf -name '*.py' -o -name '*.xml' -o -name '*.toml' -o -name '*.c' -o -name '*.h' 2>/dev/null | sort)
STAMP_RUN := $(VENV)/.setup-run
STAMP_TEST := $(VENV)/.setup-test
PY_PATHS := $(wildcard helper smoothtask_gui tests bench examples)

.PHONY: run test lint typecheck pytest bench smoothness screenshots introspection install uninstall clean

run: $(STAMP_RUN)
	scripts/run.sh $(ARGS)

test: $(STAMP_TEST)
	scripts/kernel-headers.sh
	scripts/test-users.sh
	$(MAKE) --no-print-directory lint typecheck pytest

lint:
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)

typecheck:
	$(BIN)/mypy -p smoothtask_helper -p smoothtask_gui
	$(BIN)/mypy $(filter-out helper smoothtask_gui,$(PY_PATHS))

pytest:
	$(BIN)/pytest $(PYTEST_ARGS)

$(STAMP_RUN): pyproject.toml scripts/setup.sh $(VENV)/.sources
	scripts/setup.sh run
	touch $@

$(STAMP_TEST): pyproject.toml scripts/setup.sh $(VENV)/.sources
	scripts/setup.sh test
	touch $@ $(STAMP_RUN)

# The module list, rewritten only when it changes, so edits inside a module cost nothing.
$(VENV)/.sources: FORCE
	@mkdir -p $(VENV)
	@echo "$(SOURCES)" | tr ' ' '\n' > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

FORCE:

introspection: $(STAMP_RUN)
	$(BIN)/python -m smoothtask_helper.service > helper/org.smoothtask.Helper1.xml

bench: $(STAMP_TEST)
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/ebpf_startup.py
	$(BIN)/python bench/ebpf_overhead.py
	$(BIN)/python bench/gpu_fdinfo.py
	$(BIN)/python bench/alert_latency.py
	$(BIN)/python bench/gui_cpu.py

smoothness: $(STAMP_TEST)
	scripts/test-users.sh
	$(BIN)/python bench/smoothness.py

# DESTDIR, PREFIX (/usr/local), PYTHON and the folders in scripts/install.sh may be set.
install:
	scripts/install.sh install

uninstall:
	scripts/install.sh uninstall

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache

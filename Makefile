# otreg: two commands on a fresh clone, `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BASE   := $(VENV)/.installed-base
TESTS  := $(VENV)/.installed-test
# the install compiles these kernels ahead of time (setup.py): reinstall when they change
KERNELS := setup.py $(shell $(PYTHON) otreg/transport/_aot.py)

# the system's Chromium for the explorer's browser test and the docs' screenshot (Debian's
# package; playwright drives it and never downloads a browser of its own)
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# after the install: load (or, without the ahead-of-time module, compile into numba's cache)
# every kernel once, so that no first call waits for the compiler
$(BASE): pyproject.toml $(KERNELS) | $(PY)
	$(PY) -m pip install --quiet -e .
	$(PY) -m otreg.transport.warm
	touch $(BASE)

# the test extras, plus dask so that the LocalCluster sweep test runs instead of skipping
$(TESTS): pyproject.toml $(KERNELS) | $(PY)
	$(PY) -m pip install --quiet -e '.[test,dask]'
	$(PY) -m otreg.transport.warm
	OTREG_JIT=1 $(PY) -m otreg.transport.warm  # the JIT twins tests/test_aot.py compares with
	touch $(BASE) $(TESTS)

# only when it is missing (we run as root: apt-get needs no sudo)
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

demo: $(BASE)
	$(PY) -m otreg.demo --out out

# ruff (configured in pyproject.toml), then the suite on both cores (pytest-xdist; a test file
# stays on one worker, so that its module fixtures are computed once); OTREG_REQUIRE_AOT: the
# kernels must have been compiled at install (tests/test_aot.py); Chromium for the explorer's
# browser test
test: $(TESTS) | $(CHROMIUM)
	$(PY) -m ruff check otreg tests benchmarks docs
	OTREG_REQUIRE_AOT=1 $(PY) -m pytest -q -ra -n 2 --dist loadfile

bench: $(BASE)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_exact.py
	$(PY) benchmarks/bench_cold_start.py
	$(PY) benchmarks/bench_autodiff.py
	$(PY) benchmarks/bench_neural.py

docs: $(BASE) | $(CHROMIUM)
	$(PY) -m pip install --quiet -e '.[docs]'
	$(PY) docs/gen_gallery.py
	$(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) out site build *.egg-info otreg/transport/_compiled*.so

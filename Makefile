# otreg: two commands on a fresh clone, `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test bench docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m otreg.demo --out out

test: $(STAMP)
	$(PY) -m pytest -q -ra

bench: $(STAMP)
	$(PY) benchmarks/bench_exact.py
	$(PY) benchmarks/bench_autodiff.py
	$(PY) benchmarks/bench_neural.py

docs: $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	$(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) out site build *.egg-info

# Two commands do all the set-up on a fresh machine:
#   make demo   installs into .venv and runs init + ls against a local JetStream server it starts
#   make test   installs into .venv (with test tools) and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test e2e bench dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

test: $(STAMP)
	$(PY) -m pytest -q

# dist/kubectl-jetstream-vX.Y.Z.tar.gz (a zipapp any python3 >= 3.9 runs, the completion executable, LICENSE)
# and plugin.yaml's version, uri and sha256 updated to match it. Reproducible: same inputs, same sha256.
dist: $(STAMP)
	$(PY) scripts/build_dist.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

# Two commands do all the set-up on a fresh machine:
#   make demo   installs into .venv and runs init + ls against a local JetStream server it starts
#   make test   installs into .venv (with test tools) and runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-kube-versions e2e bench bench-peers dist clean

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

# The kubernetes client at both ends of pyproject's range (kubernetes>=35,<38): the tests that talk to
# tests/kubeapi.py's API server (test_k8s_contract.py, which checks the client internals kube/k8s.py relies on,
# among them), once per version, each in a venv of its own under build/ (made once, again when pyproject.toml
# changes). Not inside `make test` (two more installs and runs would take it past its 4 minutes) nor `make e2e`
# (it needs no cluster): .ci/run runs it between the two.
KUBE_VERSIONS := 35 37
KUBE_TESTS = $(shell grep -l kubeapi tests/test_*.py)

test-kube-versions: $(KUBE_VERSIONS:%=build/kube%/.installed)
	status=0; for v in $(KUBE_VERSIONS); do \
	  build/kube$$v/bin/python -c 'import kubernetes; print("== kubernetes", kubernetes.__version__)'; \
	  build/kube$$v/bin/python -m pytest -q -p no:cacheprovider $(KUBE_TESTS) || status=1; \
	done; exit $$status

build/kube%/.installed: pyproject.toml
	$(PYTHON) -m venv build/kube$*
	build/kube$*/bin/python -m pip install -q --upgrade pip
	build/kube$*/bin/python -m pip install -q -e '.[test]' 'kubernetes==$*.*'
	touch $@

# dist/kubectl-jetstream-vX.Y.Z.tar.gz (a zipapp any python3 >= 3.9 runs, the completion executable, LICENSE)
# and plugin.yaml's version, uri and sha256 updated to match it. Reproducible: same inputs, same sha256.
dist: $(STAMP)
	$(PY) scripts/build_dist.py

# Start-up, init/no-op init/ls/diff of 1000 generated streams (direct and through the Kubernetes port-forward)
# against the old init Job's approach, on a nats-server it starts, then the same work beside natscli (see
# bench-peers); tables on stdout, bench/results.json.
# `$(PY) bench/run.py --quick` is the 20-stream smoke version; docs/performance.md has the latest figures.
# bench/keep.py: recreate --keep-messages of 1,000,000 messages against the server's own sourcing.
bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/keep.py

# Only the comparison with natscli (built once from the Go module proxy into the e2e binaries' cache) and, when
# the e2e binaries are built, its Kubernetes rows on the real kube-apiserver; `make bench` includes it.
bench-peers: $(STAMP)
	$(PY) bench/run.py --peers-only

# The plugin against a real kube-apiserver 1.34 + etcd + kube-controller-manager + kwok, built from Go modules
# into ~/.cache/kubectl-jetstream-e2e/bin (once; see e2e/README.md). CLUSTER=existing: the cluster of $KUBECONFIG.
# -n 0: in one process, without pyproject's two workers (each would start a cluster of its own).
e2e: $(STAMP)
	if [ "$(CLUSTER)" != existing ]; then bash e2e/build.sh; fi
	KJS_E2E=1 KJS_E2E_CLUSTER=$(or $(CLUSTER),local) $(PY) -m pytest tests/e2e -m e2e -q -n 0

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

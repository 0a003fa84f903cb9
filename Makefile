# netkey: two commands on a fresh Debian 12 machine.
#   make test   install missing packages, build the sanitizer preset, run the `quick` tests
#   make demo   install missing packages, build the release preset, run the demo
# Other targets: make demo-pki, make fuzz, make bench, make soak, make plots, make sweep,
# make format, make clean.

SHELL := /bin/bash
.DEFAULT_GOAL := test

# Debian packages the build needs. `make deps` installs the missing ones (as root) or
# prints the exact apt-get line to run.
DEB_PACKAGES := cmake g++ make pkg-config libsodium-dev libflatbuffers-dev flatbuffers-compiler \
                libenet-dev libgtest-dev libbenchmark-dev nlohmann-json3-dev clang libclang-rt-14-dev \
                mono-mcs mono-runtime python3-matplotlib

# CI builds treat warnings as errors.
WERROR := $(if $(CI),ON,OFF)

.PHONY: deps test demo demo-pki fuzz bench soak plots sweep format clean configure-dev configure-release

# Debian's python3, where python3-matplotlib installs (not a pyenv/venv python on PATH).
PYTHON := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ]; then \
	  echo "netkey: installing missing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "netkey: missing Debian packages. Run this, then try again:"; \
	  echo "  sudo apt-get install -y$$missing"; \
	  exit 1; \
	fi

configure-dev: deps
	cmake --preset dev -DNETKEY_WERROR=$(WERROR)

configure-release: deps
	cmake --preset release -DNETKEY_WERROR=$(WERROR)

# The quick suite under ASan/UBSan, then every fuzz target for 5 s (clang + libFuzzer).
test: configure-dev
	cmake --build --preset dev
	ctest --preset dev -L quick
	cmake --preset fuzz -DNETKEY_WERROR=$(WERROR) -DNETKEY_FUZZ_SECONDS=5
	cmake --build --preset fuzz
	ctest --preset fuzz -L fuzz

# Every fuzz target for FUZZ_SECONDS (default 300) on the seed corpus; crashes land in
# build/fuzz/tests/fuzz/crash-<target>-*.
FUZZ_SECONDS ?= 300
fuzz: deps
	cmake --preset fuzz -DNETKEY_WERROR=$(WERROR) -DNETKEY_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build --preset fuzz
	ctest --preset fuzz -L fuzz

# Builds only what it runs: netkey-arena and its dependencies.
demo: configure-release
	cmake --build --preset release --target netkey-arena
	./build/release/samples/netkey-arena

# demo.sh runs netkey-ca, then keytree_demo.
demo-pki: configure-release
	cmake --build --preset release --target netkey-ca keytree_demo
	./samples/demo.sh build/release

bench: configure-release
	cmake --build --preset release
	@for b in build/release/bench/bench_*; do echo "== $$b"; $$b --benchmark_counters_tabular=true; done

soak: configure-release
	cmake --build --preset release
	ctest --preset release -L soak

# docs/figures/*.svg from the committed reports in docs/data (tools/plots/plots.py).
plots: deps
	$(PYTHON) tools/plots/plots.py --docs docs/data --out docs/figures

# The measurement runs behind those reports (long: run on a quiet machine), then the
# figures. SWEEP_SECONDS and SWEEP_BOTS set the length and the size of the loss sweep
# (30 s, 200 bots); RUNS, COST_BOTS and COST_CHURN (3, 1000, 200) the rest (sweep.sh).
SWEEP_SECONDS ?= 30
SWEEP_BOTS ?= 200
sweep: configure-release
	cmake --build --preset release --target netkey-arena netkey-loadbots
	tools/plots/sweep.sh build/release/samples $(SWEEP_SECONDS) $(SWEEP_BOTS) docs/data
	$(MAKE) plots

format:
	git ls-files '*.h' '*.cc' '*.c' | xargs clang-format -i

clean:
	rm -rf build

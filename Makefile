# benito: thin wrappers around bun scripts. `make demo` and `make test` are the README's two commands.
BUN := node_modules/.bin/bun
SRC := $(shell find src -name '*.ts') package.json

.PHONY: all deps debian-deps build deb test test-crash check demo lab-graph bench bench-topdl fuzz-topdl bench-routes bench-vde bench-datapath bench-boot bench-scale bench-capture clean

all: build

node_modules/.bin/bun: package.json
	npm install --no-audit --no-fund
	@touch $@

deps: node_modules/.bin/bun

# Debian packages for the tests and benchmarks (installed only when root and missing).
debian-deps:
	scripts/install-debian-packages.sh

# dist/ (init files) and docs/config.md (site.conf keys in the man page) are embedded in the binary.
build/benito: node_modules/.bin/bun $(SRC) $(wildcard dist/*) docs/config.md scripts/compile.ts
	$(BUN) scripts/compile.ts

# The man page benito(8), from the same help texts `--help` prints (`man ./build/benito.8`).
build/benito.8: node_modules/.bin/bun $(SRC) docs/config.md scripts/man.ts
	$(BUN) scripts/man.ts build/benito.8

build: build/benito build/benito.8

# Debian packages build/benito_VERSION_amd64.deb and _arm64.deb, staged by `benito install --stage`.
deb: build
	$(BUN) scripts/deb.ts

check: deps
	node_modules/.bin/tsc --noEmit

# The type check (strict, noUncheckedIndexedAccess) is part of the test command.
test: build debian-deps check
	$(BUN) scripts/test.ts

# Crash-resume over every failpoint of a lab boot and of its down, and 24 random-time kills (CI runs a fixed-seed sample; docs/ledger.md).
test-crash: build
	BENITO_CRASH_ALL=1 $(BUN) test --timeout=900000 --parallel=2 test/boot/crash-resume-

# `make demo` runs the lab on the VDE datapath, then on the kernel one; DEMO_ARGS=--vde or --kernel runs one; --with-vm adds a QEMU VM to the lab.
demo: build
	$(BUN) scripts/demo.ts $(DEMO_ARGS)

# The example lab's picture in the README: docs/lab.dot (committed, checked by test/graph) and docs/lab.svg from it (needs Graphviz).
lab-graph: build
	build/benito topdl graph examples/lab/topo.xml --format dot > docs/lab.dot
	build/benito topdl graph examples/lab/topo.xml --format svg > docs/lab.svg

bench: bench-topdl bench-routes bench-datapath bench-boot bench-scale bench-capture

bench-topdl: build
	$(BUN) bench/topdl.ts

# The TopDL fast paths against the whole read on seeded mutants, for longer than CI does (FUZZ_SECONDS=300, FUZZ_SEED=1).
fuzz-topdl:
	$(BUN) bench/topdl-fuzz.ts

bench-routes: build
	$(BUN) bench/routes.ts

bench-vde: build
	BENCH_KINDS=vde_plug2tap,plug BENCH_LOAD=quiet $(BUN) bench/vde.ts

# vde_plug2tap vs benito's plug vs the forwarder, quiet and with two CPU-bound processes; then the 200-port pnode.
bench-datapath: build
	$(BUN) bench/vde.ts
	$(BUN) bench/datapath-scale.ts

bench-boot: build
	$(BUN) bench/boot.ts

bench-capture: build
	$(BUN) bench/capture.ts

bench-scale: build
	$(BUN) bench/scale.ts

clean:
	find build -mindepth 1 ! -name .gitignore -delete

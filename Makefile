# berth's front door.  `make` builds, `make check` installs what the build
# and the tests need (apt), builds, and runs every test; `make demo` shows
# the main job.
BUILD ?= build
PREFIX ?= /usr/local
MESON ?= meson

.PHONY: all build deps install check check-vm demo bench bench-engine bench-pull bench-network bench-build bench-soak format format-check asan fuzz clean

all: build

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	bash scripts/deps.sh

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/berth
	install -m 0755 $(BUILD)/src/runtime/berth-runtime $(DESTDIR)$(PREFIX)/bin/berth-runtime
	install -m 0755 $(BUILD)/src/daemon/berthd $(DESTDIR)$(PREFIX)/bin/berthd
	install -m 0755 $(BUILD)/src/cli/berth $(DESTDIR)$(PREFIX)/bin/berth
	install -m 0755 $(BUILD)/src/shim/berth-shim $(DESTDIR)$(PREFIX)/libexec/berth/berth-shim
	install -m 0755 $(BUILD)/src/init/berth-init $(DESTDIR)$(PREFIX)/libexec/berth/berth-init
	install -m 0755 $(BUILD)/src/worker/berth-worker $(DESTDIR)$(PREFIX)/libexec/berth/berth-worker
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0644 contrib/berthd.service $(DESTDIR)$(PREFIX)/lib/systemd/system/berthd.service
	getent group berth >/dev/null || groupadd --system berth

check:
	bash scripts/deps.sh tests
	bash tests/run-all.sh

# Only the kernel matrix (QEMU guests of kernel 6.1; also part of check).
check-vm:
	bash scripts/deps.sh tests
	$(MAKE) build
	bash tests/vm/run-matrix.sh

demo: deps build install
	bash scripts/demo.sh

bench: deps build
	bash bench/runtime.sh

bench-engine: deps build
	bash bench/engine.sh

bench-pull: deps build
	bash bench/pull.sh

bench-build: deps build
	bash bench/build.sh

bench-network: deps build
	bash bench/network.sh

# berthd's RSS per 1,000 run -d/exec/logs/rm -f cycles (flat after warm-up);
# e.g. make bench-soak SOAK_ARGS="--clients 4 --cycles 2000 --malloc-stats"
SOAK_ARGS ?= --clients 8 --cycles 6000 --every 1000
bench-soak: deps build
	python3 bench/soak.py $(SOAK_ARGS) --out bench/results/soak-$$(date +%F).md

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	bash tests/format-check.sh

asan:
	$(MESON) setup build-asan -Db_sanitize=address,undefined -Dstatic_runtime=false 2>/dev/null || true
	ninja -C build-asan
	meson test -C build-asan --suite unit --print-errorlogs

fuzz:
	CC=clang $(MESON) setup build-fuzz -Dfuzz=true -Db_lundef=false -Dstatic_runtime=false 2>/dev/null || true
	ninja -C build-fuzz
	meson test -C build-fuzz --suite fuzz --print-errorlogs

clean:
	rm -rf $(BUILD) build-asan build-fuzz

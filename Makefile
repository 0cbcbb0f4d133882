# berth's front door.  `make` builds, `make check` installs what the build
# and the tests need (apt), builds, and runs every test; `make demo` shows
# the main job.
BUILD ?= build
PREFIX ?= /usr/local
MESON ?= meson

.PHONY: all build deps install check demo bench format format-check asan fuzz clean

all: build

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --prefix=$(PREFIX)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	bash scripts/deps.sh

install: build
	install -m 0755 $(BUILD)/src/runtime/berth-runtime $(DESTDIR)$(PREFIX)/bin/berth-runtime

check: deps
	bash tests/run-all.sh

demo: deps build install
	bash scripts/demo.sh

bench: deps build
	bash bench/runtime.sh

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

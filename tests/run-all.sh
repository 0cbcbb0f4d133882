#!/bin/bash
# Build berth and run every test: unit tests (normal and sanitizer builds),
# the format check, and the integration suite.  Ends with one line
# "N passed, N failed"; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
pass=0
fail=0
RESULTS=$(mktemp -d /tmp/berth-results.XXXXXX)
trap 'rm -rf "$RESULTS"' EXIT

count_meson() { # build dir -> adds its unit results
        python3 - "$1/meson-logs/testlog.json" <<'PY' >"$RESULTS/meson"
import json, sys
p = f = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if r.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
            p += 1
        else:
            f += 1
            print("FAILED unit test:", r.get("name"), file=sys.stderr)
except FileNotFoundError:
    f = 1
print(p, f)
PY
        read -r p f <"$RESULTS/meson"
        pass=$((pass + p))
        fail=$((fail + f))
}

count_junit() { # junit xml -> adds its results
        /usr/bin/python3 - "$1" <<'PY' >"$RESULTS/junit"
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
p = f = 0
for s in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
    t = int(s.get("tests", 0)); e = int(s.get("errors", 0))
    fl = int(s.get("failures", 0)); sk = int(s.get("skipped", 0))
    f += e + fl; p += t - e - fl - sk
print(p, f)
PY
        read -r p f <"$RESULTS/junit"
        pass=$((pass + p))
        fail=$((fail + f))
}

step() { echo; echo "=== $* ==="; }

step "build"
if [ ! -f build/build.ninja ]; then
        meson setup build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C build; then
        echo "build failed"
        echo "$pass passed, $((fail + 1)) failed"
        exit 1
fi

step "unit tests"
meson test -C build --suite unit --print-errorlogs --num-processes 1
count_meson build

step "unit tests under AddressSanitizer + UBSan"
if [ ! -f build-asan/build.ninja ]; then
        meson setup build-asan -Db_sanitize=address,undefined \
                -Db_lundef=false -Dstatic_runtime=false >/dev/null
fi
if ninja -C build-asan; then
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                meson test -C build-asan --suite unit --print-errorlogs --num-processes 1
        count_meson build-asan
else
        echo "sanitizer build failed"
        fail=$((fail + 1))
fi

step "format check"
if bash tests/format-check.sh; then pass=$((pass + 1)); else fail=$((fail + 1)); fi

step "static analysis (cppcheck)"
if bash tests/lint.sh; then pass=$((pass + 1)); else fail=$((fail + 1)); fi

step "integration tests"
export BERTH_RUNTIME="$ROOT/build/src/runtime/berth-runtime"
export BERTH_PROBE="$ROOT/build/tests/berth-probe"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration \
        --junitxml="$RESULTS/integration.xml" "$@"
count_junit "$RESULTS/integration.xml"

step "security tests (tests/security: one file per hole an attacker found)"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/security \
        --junitxml="$RESULTS/security.xml"
count_junit "$RESULTS/security.xml"

step "integration tests against the ASan+UBSan build of berth-runtime"
# Leak checking stays off here: LeakSanitizer's tracer cannot attach to a
# process that has entered a container's pid namespace for its children
# (`exec`), and hangs.  Memory errors still abort the runtime and fail.
if [ -x build-asan/src/runtime/berth-runtime ]; then
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        BERTH_RUNTIME="$ROOT/build-asan/src/runtime/berth-runtime" \
                /usr/bin/python3 -m pytest -q -p no:cacheprovider \
                tests/integration/test_runtime_core.py \
                --junitxml="$RESULTS/asan.xml"
        count_junit "$RESULTS/asan.xml"
fi

step "registry integration tests against the ASan+UBSan build of berthd and berth-worker"
# The worker exits normally, so LeakSanitizer checks every pull, push and
# login; a leak or memory error fails the job and so the test.
if [ -x build-asan/src/daemon/berthd ] && [ -x build-asan/src/worker/berth-worker ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        BERTHD="$ROOT/build-asan/src/daemon/berthd" \
                /usr/bin/python3 -m pytest -q -p no:cacheprovider \
                tests/integration/test_registry.py \
                --junitxml="$RESULTS/asan-registry.xml"
        count_junit "$RESULTS/asan-registry.xml"
fi

step "kernel 6.1 in QEMU guests: cgroup v2 without systemd, cgroup v1 (tests/vm)"
# About 9 minutes a cell on this machine's 2 cores (TCG, no KVM).
bash tests/vm/run-matrix.sh | tee "$RESULTS/vm.log"
read -r p f < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$RESULTS/vm.log" |
        tail -1 | awk '{print $1, $3}')
pass=$((pass + ${p:-0}))
fail=$((fail + ${f:-1}))

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

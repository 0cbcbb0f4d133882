#!/bin/bash
# The kernel matrix: the integration and kernel-facing security tests in
# QEMU guests of Debian 12's kernel 6.1, with cgroup v2 (no systemd, empty
# root subtree_control) and with cgroup v1.  Part of `make check`
# (tests/run-all.sh), or alone with `make check-vm`.  Ends with
# "N passed, N failed" like tests/run-all.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
pass=0
fail=0
RESULTS=$(mktemp -d /tmp/berth-vm-results.XXXXXX)
trap 'rm -rf "$RESULTS"' EXIT
CELLS=${BERTH_VM_CELLS:-v2 v1}

count_junit() { # junit xml -> adds its results
        read -r p f < <(/usr/bin/python3 - "$1" <<'PY'
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
)
        pass=$((pass + p))
        fail=$((fail + f))
}

[ -x build/src/daemon/berthd ] || ninja -C build || exit 1
# Daemon behaviour that does not depend on the kernel (timing under load,
# memory soaks) stays on the host: TCG is 5-10 times slower.
VM_TESTS="tests/integration/test_engine.py tests/integration/test_runtime_core.py
tests/integration/test_network.py tests/integration/test_user_networks.py
tests/integration/test_build.py tests/integration/test_registry.py
tests/security/test_exec_escape.py tests/security/test_volume_setuid.py
tests/security/test_host_loopback.py tests/security/test_spoofing.py
tests/security/test_layer_xattrs.py tests/security/test_api_robustness.py"
for cell in $CELLS; do
        out="$RESULTS/vm-$cell"
        t0=$(date +%s)
        echo "=== cell $cell ==="
        bash tests/vm/vm.sh "$cell" "$out" "cd '$ROOT' &&
                BERTH_RUNTIME='$ROOT/build/src/runtime/berth-runtime' \\
                BERTH_PROBE='$ROOT/build/tests/berth-probe' \\
                /usr/bin/python3 -m pytest -q -p no:cacheprovider \\
                $(echo $VM_TESTS) --junitxml=/results/junit.xml"
        rc=$?
        grep -E '^(FAILED|ERROR) |passed|failed' "$out/out" 2>/dev/null
        echo "cell $cell: exit $rc in $(($(date +%s) - t0)) s"
        if [ -f "$out/junit.xml" ]; then
                count_junit "$out/junit.xml"
        else
                fail=$((fail + 1))
        fi
done
echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

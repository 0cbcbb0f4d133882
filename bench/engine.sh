#!/bin/bash
# berth (berthd + berth CLI) beside dockerd and podman, in one run
# (../shared/docs/PEERS.md):
#   1. `run --rm --network none IMAGE true`, hyperfine, all three together
#   2. idle daemon RSS
#   3. 100 containers started with `run -d` from 8 concurrent clients:
#      wall time, and the RSS of each container's monitor process
# Writes bench/results/engine-DATE.md.  Run as root: make bench-engine
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=${BUILD:-$REPO/build}
RUNS=${RUNS:-30}
N=${N:-100}
command -v hyperfine >/dev/null || { echo "hyperfine is needed"; exit 1; }

W=$(mktemp -d /tmp/berth-bench-engine.XXXXXX)
BERTHD_PID=
DOCKERD_PID=
HUGETLB_MOUNTED=0
cleanup() {
        set +e
        if [ -n "$BERTHD_PID" ]; then
                ids=$("$BUILD/src/cli/berth" -H "unix://$W/berth.sock" ps -aq)
                [ -n "$ids" ] && "$BUILD/src/cli/berth" -H "unix://$W/berth.sock" rm -f $ids >/dev/null
                kill "$BERTHD_PID"
        fi
        if [ -n "$DOCKERD_PID" ]; then
                ids=$(DOCKER_HOST="unix://$W/docker.sock" docker ps -aq)
                [ -n "$ids" ] && DOCKER_HOST="unix://$W/docker.sock" docker rm -f $ids >/dev/null
                kill "$DOCKERD_PID"
                for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        fi
        if command -v podman >/dev/null; then
                podman "${PODMAN_OPTS[@]}" rm -af >/dev/null 2>&1
                podman "${PODMAN_OPTS[@]}" system reset -f >/dev/null 2>&1
        fi
        ip link del bneb0 2>/dev/null
        nft delete table ip berth_bneb0 2>/dev/null
        grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
        if [ $HUGETLB_MOUNTED = 1 ]; then
                umount /sys/fs/cgroup/hugetlb 2>/dev/null && rmdir /sys/fs/cgroup/hugetlb
        fi
        rm -rf "$W"
}
PODMAN_OPTS=(--root "$W/podman/root" --runroot "$W/podman/run" --cgroup-manager cgroupfs)
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Proportional set size: pages shared by N processes count 1/N each.
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
anon_kb() { awk '/^RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# A busybox image for everyone.
mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true sleep echo; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
IMG=bench/busybox:latest

# berthd
"$BUILD/src/daemon/berthd" -H "unix://$W/berth.sock" --data-root "$W/berth" \
        --exec-root "$W/berth-exec" --bridge bneb0 --bip 10.199.3.1/24 \
        >"$W/berthd.log" 2>&1 &
BERTHD_PID=$!
B() { "$BUILD/src/cli/berth" -H "unix://$W/berth.sock" "$@"; }
for _ in $(seq 1 100); do B version >/dev/null 2>&1 && break; sleep 0.05; done
B import - "$IMG" <"$W/rootfs.tar" >/dev/null
sleep 1
BERTHD_IDLE=$(rss_kb "$BERTHD_PID")

# dockerd
HAVE_DOCKER=0
if command -v dockerd >/dev/null; then
        dockerd --data-root "$W/docker" --exec-root "$W/docker-exec" \
                -H "unix://$W/docker.sock" --pidfile "$W/docker.pid" \
                >"$W/dockerd.log" 2>&1 &
        DOCKERD_PID=$!
        for _ in $(seq 1 200); do
                DOCKER_HOST="unix://$W/docker.sock" docker version >/dev/null 2>&1 && { HAVE_DOCKER=1; break; }
                sleep 0.1
        done
fi
D() { DOCKER_HOST="unix://$W/docker.sock" docker "$@"; }
DOCKERD_IDLE=0
CONTAINERD_IDLE=0
if [ $HAVE_DOCKER = 1 ]; then
        D import - "$IMG" <"$W/rootfs.tar" >/dev/null
        sleep 1
        DOCKERD_IDLE=$(rss_kb "$DOCKERD_PID")
        cpid=$(pgrep -P "$DOCKERD_PID" containerd | head -1 || true)
        [ -n "$cpid" ] && CONTAINERD_IDLE=$(rss_kb "$cpid")
fi

# podman (needs the hugetlb controller off cgroup2 on this hybrid host)
HAVE_PODMAN=0
PODMAN_RUN=(run --rm --network none --ulimit nofile=1024:20000 --ulimit nproc=1024:1024)
if command -v podman >/dev/null; then
        if [ ! -d /sys/fs/cgroup/hugetlb ] && grep -q hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
                mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && HUGETLB_MOUNTED=1
        fi
        if podman "${PODMAN_OPTS[@]}" import - "$IMG" <"$W/rootfs.tar" >/dev/null 2>&1 &&
                podman "${PODMAN_OPTS[@]}" "${PODMAN_RUN[@]}" "$IMG" true >/dev/null 2>&1; then
                HAVE_PODMAN=1
        fi
fi

# 1. run --rm true
cmds=("$BUILD/src/cli/berth -H unix://$W/berth.sock run --rm --network none $IMG true")
names=(berth)
if [ $HAVE_DOCKER = 1 ]; then
        cmds+=("env DOCKER_HOST=unix://$W/docker.sock docker run --rm --network none $IMG true")
        names+=(docker)
fi
if [ $HAVE_PODMAN = 1 ]; then
        cmds+=("podman ${PODMAN_OPTS[*]} ${PODMAN_RUN[*]} $IMG true")
        names+=(podman)
fi
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$W/run.json" "${cmds[@]}" >"$W/hyperfine.txt" 2>&1 || cat "$W/hyperfine.txt"

# 3. N containers from 8 clients
start_many() { # tool
        local t0 t1
        t0=$(date +%s%N)
        seq 1 "$N" | xargs -P 8 -I{} sh -c "$1 run -d --network none $IMG sleep 100000 >/dev/null"
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
}
BERTH_MANY_MS=$(start_many "$BUILD/src/cli/berth -H unix://$W/berth.sock")
BERTH_RUNNING=$(B ps -q | wc -l)
shim_total=0
shim_pss=0
shim_anon=0
shim_n=0
for f in "$W"/berth-exec/shims/*/shim.pid; do
        p=$(cat "$f") # no trailing newline: read one file at a time
        shim_total=$((shim_total + $(rss_kb "$p")))
        shim_pss=$((shim_pss + $(pss_kb "$p")))
        shim_anon=$((shim_anon + $(anon_kb "$p")))
        shim_n=$((shim_n + 1))
done
BERTH_SHIM_AVG=$((shim_n ? shim_total / shim_n : 0))
BERTH_SHIM_PSS=$((shim_n ? shim_pss / shim_n : 0))
BERTH_SHIM_ANON=$((shim_n ? shim_anon / shim_n : 0))
BERTHD_100=$(rss_kb "$BERTHD_PID")
ids=$(B ps -aq)
B rm -f $ids >/dev/null

DOCKER_MANY_MS=n/a
DOCKER_RUNNING=n/a
DOCKER_SHIM_AVG=n/a
DOCKER_SHIM_PSS=n/a
if [ $HAVE_DOCKER = 1 ]; then
        DOCKER_MANY_MS=$(start_many "env DOCKER_HOST=unix://$W/docker.sock docker")
        DOCKER_RUNNING=$(D ps -q | wc -l)
        total=0
        pss=0
        n=0
        for p in $(pgrep -f "containerd-shim.*$W" || true); do
                total=$((total + $(rss_kb "$p")))
                pss=$((pss + $(pss_kb "$p")))
                n=$((n + 1))
        done
        DOCKER_SHIM_AVG=$((n ? total / n : 0))
        DOCKER_SHIM_PSS=$((n ? pss / n : 0))
        ids=$(D ps -aq)
        D rm -f $ids >/dev/null
fi

# Report
DATE=$(date +%Y-%m-%d)
OUT="$REPO/bench/results/engine-$DATE.md"
python3 - "$W/run.json" "${names[@]}" >"$W/table.md" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = sys.argv[2:]
res = d["results"]
base = res[0]["mean"]
print("| engine | mean ± σ (ms) | min (ms) | berth's share |")
print("|---|---|---|---|")
for n, r in zip(names, res):
    print(f"| {n} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | "
          f"{r['min']*1000:.1f} | {base / r['mean']:.3f} |")
PY
{
        echo "# berth engine vs docker and podman — $DATE"
        echo
        echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), cgroup $(stat -fc %T /sys/fs/cgroup)."
        echo "Peers: $(docker version --format 'docker CLI {{.Client.Version}}' 2>/dev/null), $(dockerd --version 2>/dev/null), $(podman --version 2>/dev/null)."
        echo "Command: \`bash bench/engine.sh\` (RUNS=$RUNS, N=$N)."
        echo
        echo "## run --rm --network none IMAGE true (hyperfine -N, $RUNS runs)"
        echo
        cat "$W/table.md"
        echo
        echo "## Memory (VmRSS)"
        echo
        echo "| | berth | docker |"
        echo "|---|---|---|"
        echo "| idle daemon(s) | berthd ${BERTHD_IDLE} kB | dockerd ${DOCKERD_IDLE} kB + containerd ${CONTAINERD_IDLE} kB |"
        echo "| per running container: monitor VmRSS (mean of $N) | berth-shim ${BERTH_SHIM_AVG} kB | containerd-shim ${DOCKER_SHIM_AVG} kB |"
        echo "| per running container: monitor Pss (shared pages split) | berth-shim ${BERTH_SHIM_PSS} kB | containerd-shim ${DOCKER_SHIM_PSS} kB |"
        echo "| per running container: monitor private anonymous memory | berth-shim ${BERTH_SHIM_ANON} kB | |"
        echo "| daemon with $N containers | berthd ${BERTHD_100} kB | |"
        echo
        echo "## $N containers with run -d from 8 concurrent clients"
        echo
        echo "| | berth | docker |"
        echo "|---|---|---|"
        echo "| wall time | ${BERTH_MANY_MS} ms | ${DOCKER_MANY_MS} ms |"
        echo "| running afterwards | ${BERTH_RUNNING} | ${DOCKER_RUNNING} |"
} >"$OUT"
cat "$OUT"

#!/bin/bash
# Networking: berth beside dockerd (and podman, when its bridge network
# works here) in one run (../shared/docs/PEERS.md):
#   1. `run --rm IMAGE true` on each engine's default bridge, and berth
#      with --network none, hyperfine: what networking adds to a run;
#   2. 50 containers each publishing a port, started concurrently: wall
#      time until every one answers on 127.0.0.1:PORT.
# dockerd and podman install iptables rules and bridges of their own: the
# host's iptables state is saved first and restored at the end, and their
# bridges removed.  Traffic goes only to 127.0.0.1 and to the engines'
# bridges.  Writes bench/results/network-DATE.md.  Run as root:
# make bench-network
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=${BUILD:-$REPO/build}
RUNS=${RUNS:-30}
N=${N:-50}
BASE_PORT=${BASE_PORT:-41000}
command -v hyperfine >/dev/null || { echo "hyperfine is needed"; exit 1; }

W=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
BERTHD_PID=
DOCKERD_PID=
HUGETLB_MOUNTED=0
iptables-save >"$W/iptables.saved"
FWD=$(cat /proc/sys/net/ipv4/ip_forward)
B() { "$BUILD/src/cli/berth" -H "unix://$W/berth.sock" "$@"; }
D() { DOCKER_HOST="unix://$W/docker.sock" docker "$@"; }
PODMAN_OPTS=(--root "$W/podman/root" --runroot "$W/podman/run" --cgroup-manager cgroupfs)
P() { podman "${PODMAN_OPTS[@]}" "$@"; }
cleanup() {
        set +e
        if [ -n "$BERTHD_PID" ]; then
                ids=$(B ps -aq)
                [ -n "$ids" ] && B rm -f $ids >/dev/null
                kill "$BERTHD_PID"
                for _ in $(seq 1 100); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.1; done
        fi
        if [ -n "$DOCKERD_PID" ]; then
                ids=$(D ps -aq)
                [ -n "$ids" ] && D rm -f $ids >/dev/null
                kill "$DOCKERD_PID"
                for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
        fi
        if command -v podman >/dev/null; then
                P rm -af >/dev/null 2>&1
                P system reset -f >/dev/null 2>&1
        fi
        ip link del bnb0 2>/dev/null
        ip link del bnd0 2>/dev/null
        ip link del cni-podman0 2>/dev/null
        nft delete table ip berth_bnb0 2>/dev/null
        iptables-restore <"$W/iptables.saved"
        echo "$FWD" >/proc/sys/net/ipv4/ip_forward
        grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
        if [ $HUGETLB_MOUNTED = 1 ]; then
                umount /sys/fs/cgroup/hugetlb 2>/dev/null && rmdir /sys/fs/cgroup/hugetlb
        fi
        rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true sleep echo httpd mkdir; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
IMG=bench/busybox:latest
# A resolver on a loopback address where nothing listens: no engine's
# container asks anything beyond this machine.
echo "nameserver 127.77.255.254" >"$W/resolv.conf"

# berthd, on a bridge and subnet of its own
"$BUILD/src/daemon/berthd" -H "unix://$W/berth.sock" --data-root "$W/berth" \
        --exec-root "$W/berth-exec" --bridge bnb0 --bip 10.199.1.1/24 \
        --resolv-conf "$W/resolv.conf" >"$W/berthd.log" 2>&1 &
BERTHD_PID=$!
for _ in $(seq 1 100); do B version >/dev/null 2>&1 && break; sleep 0.05; done
B import - "$IMG" <"$W/rootfs.tar" >/dev/null
B run --rm "$IMG" true # the bridge exists from here on

# dockerd, with iptables (its usual set-up) on a bridge of its own
HAVE_DOCKER=0
if command -v dockerd >/dev/null; then
        ip link add bnd0 type bridge
        ip addr add 10.199.2.1/24 dev bnd0
        ip link set bnd0 up
        dockerd --data-root "$W/docker" --exec-root "$W/docker-exec" \
                -H "unix://$W/docker.sock" --pidfile "$W/docker.pid" \
                --bridge bnd0 >"$W/dockerd.log" 2>&1 &
        DOCKERD_PID=$!
        for _ in $(seq 1 200); do
                D version >/dev/null 2>&1 && { HAVE_DOCKER=1; break; }
                sleep 0.1
        done
fi
if [ $HAVE_DOCKER = 1 ]; then
        D import - "$IMG" <"$W/rootfs.tar" >/dev/null
        D run --rm --dns 127.77.255.254 "$IMG" true
fi

# podman, with its default bridge network (CNI)
HAVE_PODMAN=0
PODMAN_RUN=(run --rm --ulimit nofile=1024:20000 --ulimit nproc=1024:1024 --dns 127.77.255.254)
if command -v podman >/dev/null; then
        if [ ! -d /sys/fs/cgroup/hugetlb ] && grep -q hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
                mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && HUGETLB_MOUNTED=1
        fi
        if P import - "$IMG" <"$W/rootfs.tar" >/dev/null 2>&1 &&
                P "${PODMAN_RUN[@]}" "$IMG" true >/dev/null 2>&1; then
                HAVE_PODMAN=1
        fi
fi

# 1. run --rm true, on the bridge
cmds=("$BUILD/src/cli/berth -H unix://$W/berth.sock run --rm $IMG true"
        "$BUILD/src/cli/berth -H unix://$W/berth.sock run --rm --network none $IMG true")
names=("berth (bridge)" "berth (--network none)")
if [ $HAVE_DOCKER = 1 ]; then
        cmds+=("env DOCKER_HOST=unix://$W/docker.sock docker run --rm --dns 127.77.255.254 $IMG true")
        names+=("docker (bridge)")
fi
if [ $HAVE_PODMAN = 1 ]; then
        cmds+=("podman ${PODMAN_OPTS[*]} ${PODMAN_RUN[*]} $IMG true")
        names+=("podman (bridge)")
fi
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$W/run.json" "${cmds[@]}" >"$W/hyperfine.txt" 2>&1 || cat "$W/hyperfine.txt"

# 2. N containers publishing a port each, started concurrently
many() { # tool base-port -> ms until every port answered
        local t0 t1 i
        t0=$(date +%s%N)
        seq 0 $((N - 1)) | xargs -P "$N" -I{} sh -c \
                "$1 run -d -p 127.0.0.1:\$(($2 + {})):8080 $3 $IMG sh -c 'mkdir /w && echo ok > /w/i && exec httpd -f -p 8080 -h /w' >/dev/null"
        for i in $(seq 0 $((N - 1))); do
                for _ in $(seq 1 400); do
                        curl -fs --max-time 2 "http://127.0.0.1:$(($2 + i))/i" >/dev/null && break
                        sleep 0.05
                done
        done
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
}
answering() { # base-port -> how many answer
        local n=0 i
        for i in $(seq 0 $((N - 1))); do
                curl -fs --max-time 2 "http://127.0.0.1:$(($1 + i))/i" >/dev/null && n=$((n + 1))
        done
        echo $n
}
BERTH_MANY=$(many "$BUILD/src/cli/berth -H unix://$W/berth.sock" "$BASE_PORT" "")
BERTH_OK=$(answering "$BASE_PORT")
ids=$(B ps -aq)
B rm -f $ids >/dev/null
DOCKER_MANY=n/a
DOCKER_OK=n/a
if [ $HAVE_DOCKER = 1 ]; then
        DOCKER_MANY=$(many "env DOCKER_HOST=unix://$W/docker.sock docker" "$((BASE_PORT + 1000))" "--dns 127.77.255.254")
        DOCKER_OK=$(answering "$((BASE_PORT + 1000))")
        ids=$(D ps -aq)
        D rm -f $ids >/dev/null
fi

DATE=$(date +%Y-%m-%d)
OUT="$REPO/bench/results/network-$DATE.md"
python3 - "$W/run.json" "${names[@]}" >"$W/table.md" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = sys.argv[2:]
res = d["results"]
base = res[0]["mean"]
print("| engine | mean ± σ (ms) | min (ms) | berth (bridge) / this |")
print("|---|---|---|---|")
for n, r in zip(names, res):
    print(f"| {n} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | "
          f"{r['min']*1000:.1f} | {base / r['mean']:.3f} |")
PY
{
        echo "# berth networking vs docker and podman — $DATE"
        echo
        echo "Machine: $(nproc) CPUs, kernel $(uname -r). Peers: $(dockerd --version 2>/dev/null), $(podman --version 2>/dev/null)."
        echo "Command: \`bash bench/network.sh\` (RUNS=$RUNS, N=$N). Each engine on a bridge of its own; docker with its iptables rules and userland proxy (its defaults)."
        echo
        echo "## run --rm IMAGE true (hyperfine -N, $RUNS runs)"
        echo
        cat "$W/table.md"
        echo
        echo "## $N containers, each with -p 127.0.0.1:PORT:8080, started by $N concurrent clients"
        echo
        echo "| | berth | docker |"
        echo "|---|---|---|"
        echo "| until all answer on 127.0.0.1 | ${BERTH_MANY} ms | ${DOCKER_MANY} ms |"
        echo "| answering | ${BERTH_OK}/$N | ${DOCKER_OK}/$N |"
} >"$OUT"
cat "$OUT"

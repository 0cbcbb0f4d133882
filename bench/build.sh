#!/bin/bash
# berth build beside dockerd's classic builder (DOCKER_BUILDKIT=0), in one
# run (../shared/docs/PEERS.md), a 10-instruction Dockerfile on a busybox
# base, RUN steps with --network none on both (dockerd runs without a
# bridge or iptables: the host's firewall is not touched):
#   1. cold: --no-cache builds;
#   2. rebuild with nothing changed (every step from the cache);
#   3. rebuild after the file the 8th instruction copies changed.
# Writes bench/results/build-DATE.md.  Run as root: make bench-build
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=${BUILD:-$REPO/build}
RUNS=${RUNS:-20}
command -v hyperfine >/dev/null || { echo "hyperfine is needed"; exit 1; }

W=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
BERTHD_PID=
DOCKERD_PID=
B() { "$BUILD/src/cli/berth" -H "unix://$W/berth.sock" "$@"; }
D() { DOCKER_HOST="unix://$W/docker.sock" DOCKER_BUILDKIT=0 docker "$@"; }
stop() {
        kill "$1" 2>/dev/null || return 0
        for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
}
cleanup() {
        set +e
        [ -n "$BERTHD_PID" ] && stop "$BERTHD_PID"
        [ -n "$DOCKERD_PID" ] && stop "$DOCKERD_PID"
        grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
        rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/rootfs/bin" "$W/rootfs/etc" "$W/ctx/data"
cp /bin/busybox "$W/rootfs/bin/"
for a in sh true echo cat; do ln -s busybox "$W/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/rootfs/etc/passwd"
tar -C "$W/rootfs" -cf "$W/rootfs.tar" .
IMG=bench/busybox:latest
cd "$W/ctx"
echo hello >a.txt
echo 0 >late.txt
for i in $(seq 1 20); do head -c 4096 /dev/urandom >"data/f$i"; done
cat >Dockerfile <<DF
FROM $IMG
ARG V=1
ENV A=b
WORKDIR /app
COPY a.txt .
RUN echo \$V > /app/v
COPY data/ /app/data/
COPY late.txt /app/
LABEL x=y
CMD ["cat", "/app/v"]
DF

"$BUILD/src/daemon/berthd" -H "unix://$W/berth.sock" --data-root "$W/berth" \
        --exec-root "$W/berth-exec" --bridge none >"$W/berthd.log" 2>&1 &
BERTHD_PID=$!
dockerd -H "unix://$W/docker.sock" --data-root "$W/docker" \
        --exec-root "$W/docker-exec" --pidfile "$W/docker.pid" \
        --bridge none --iptables=false --ip-masq=false >"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 200); do B version >/dev/null 2>&1 && D version >/dev/null 2>&1 && break; sleep 0.05; done
B import - "$IMG" <"$W/rootfs.tar" >/dev/null
D import - "$IMG" <"$W/rootfs.tar" >/dev/null
B build -q --network none -t app . >/dev/null
D build -q --network none -t app . >/dev/null

BB="$BUILD/src/cli/berth -H unix://$W/berth.sock build -q --network none -t app $W/ctx"
DB="env DOCKER_HOST=unix://$W/docker.sock DOCKER_BUILDKIT=0 docker build -q --network none -t app $W/ctx"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$W/cached.json" \
        -n berth "$BB" -n docker "$DB" >"$W/h1.txt" 2>&1 || cat "$W/h1.txt"
# The 8th instruction's file changes before every run.
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$W/changed.json" \
        --prepare "sh -c 'date +%s%N > $W/ctx/late.txt'" \
        -n berth "$BB" -n docker "$DB" >"$W/h2.txt" 2>&1 || cat "$W/h2.txt"
hyperfine -N --warmup 1 --runs "$(( RUNS / 2 > 3 ? RUNS / 2 : 3 ))" --export-json "$W/cold.json" \
        -n berth "$BB --no-cache" -n docker "$DB --no-cache" >"$W/h3.txt" 2>&1 || cat "$W/h3.txt"
# Did the changed-file rebuild really start at step 8?
date +%s%N >"$W/ctx/late.txt"
B build --network none -t app . >"$W/partial.txt"
PARTIAL=$(grep -c "Using cache" "$W/partial.txt" || true)

DATE=$(date +%Y-%m-%d)
OUT="$REPO/bench/results/build-$DATE.md"
{
        echo "# berth build vs docker's classic builder — $DATE"
        echo
        echo "Machine: $(nproc) CPUs, kernel $(uname -r). Peer: $(dockerd --version). Command: \`bash bench/build.sh\` (RUNS=$RUNS)."
        echo "A 10-instruction Dockerfile on a busybox base (ARG, ENV, WORKDIR, 3 COPY, RUN, LABEL, CMD), RUN with --network none on both; each build \`-q -t app\` through its own CLI."
        echo
        echo "## Rebuild, nothing changed (hyperfine -N)"
        echo
        python3 "$REPO/bench/table.py" "$W/cached.json" berth docker
        echo
        echo "## Rebuild after the file the 8th instruction copies changed"
        echo
        python3 "$REPO/bench/table.py" "$W/changed.json" berth docker
        echo
        echo "(one more such berth build, with its output: $PARTIAL of its 9 steps after FROM came from the cache)"
        echo
        echo "## Cold build (--no-cache)"
        echo
        python3 "$REPO/bench/table.py" "$W/cold.json" berth docker
} >"$OUT"
cat "$OUT"

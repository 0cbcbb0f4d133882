#!/bin/bash
# berth-runtime beside crun and runc, in one hyperfine run (PEERS.md):
#   1. `run` of /bin/true on a busybox bundle with the default spec
#   2. a create/start/delete cycle
#   3. peak RSS of one `run`
# Writes bench/results/runtime-DATE.md.  Run as root: make bench
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BERTH=${BERTH_RUNTIME:-$REPO/build/src/runtime/berth-runtime}
RUNS=${RUNS:-40}
bash scripts/deps-peers.sh >/dev/null 2>&1 || true
command -v hyperfine >/dev/null || { echo "hyperfine is needed"; exit 1; }

W=$(mktemp -d /run/berth-bench.XXXXXX)  # tmpfs, like /run/runc
HUGETLB_MOUNTED=0
cleanup() {
        for rt in berth crun runc; do
                for id in $(ls "$W/state-$rt" 2>/dev/null); do
                        "$(bin "$rt")" --root "$W/state-$rt" delete --force "$id" >/dev/null 2>&1 || true
                done
        done
        if [ $HUGETLB_MOUNTED = 1 ]; then
                umount /sys/fs/cgroup/hugetlb 2>/dev/null && rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true
        fi
        rm -rf "$W"
}
bin() { case $1 in berth) echo "$BERTH" ;; *) command -v "$1" ;; esac; }
trap cleanup EXIT

# crun 1.8 refuses hybrid hosts; for the benchmark only, give hugetlb its
# own v1 hierarchy as PEERS.md describes (undone on exit).
if [ -d /sys/fs/cgroup/unified ] && [ ! -d /sys/fs/cgroup/hugetlb ]; then
        mkdir -p /sys/fs/cgroup/hugetlb
        if mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb; then
                HUGETLB_MOUNTED=1
        else
                rmdir /sys/fs/cgroup/hugetlb
        fi
fi

mkdir -p "$W/bundle/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$W/bundle/rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$W/bundle/rootfs/bin/$a"; done
cd "$W/bundle"
runc spec
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open("config.json", "w"), indent=2)
PY
peers=(berth)
for p in crun runc; do command -v $p >/dev/null && peers+=($p); done
for p in "${peers[@]}"; do mkdir -p "$W/state-$p"; done

cmds=()
for p in "${peers[@]}"; do
        cmds+=(-n "$p run" "$(bin $p) --root $W/state-$p run -b $W/bundle b-$p")
done
hyperfine -N --warmup 3 --runs "$RUNS" --export-markdown "$W/run.md" "${cmds[@]}"

cycle=()
for p in "${peers[@]}"; do
        b=$(bin $p)
        cycle+=(-n "$p create+start+delete"
                "bash -c '$b --root $W/state-$p create -b $W/bundle c-$p && $b --root $W/state-$p start c-$p && $b --root $W/state-$p delete --force c-$p'")
done
hyperfine --warmup 3 --runs "$RUNS" --export-markdown "$W/cycle.md" "${cycle[@]}"

gcc -O2 -static -o "$W/maxrss" "$REPO/bench/maxrss.c"
rss=$W/rss.md
echo "| runtime | peak RSS of one run, largest process of its tree (KiB), median of 5 |" >"$rss"
echo "|---|---|" >>"$rss"
for p in "${peers[@]}"; do
        kb=$(for i in 1 2 3 4 5; do
                "$W/maxrss" "$(bin $p)" --root "$W/state-$p" run -b "$W/bundle" "m-$p"
        done | sort -n | sed -n 3p)
        echo "| $p | $kb |" >>"$rss"
done

mkdir -p "$REPO/bench/results"
out="$REPO/bench/results/runtime-$(date +%Y-%m-%d).md"
{
        echo "# berth-runtime vs crun vs runc — $(date -u +%Y-%m-%dT%H:%MZ)"
        echo
        echo "Machine: $(nproc) vCPU, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)."
        echo "Versions: $("$BERTH" --version | head -1); $(crun --version 2>/dev/null | head -1); $(runc --version 2>/dev/null | head -1)."
        echo
        echo "## run of /bin/true (hyperfine -N, $RUNS runs)"; cat "$W/run.md"
        echo
        echo "## create + start + delete (through bash)"; cat "$W/cycle.md"
        echo
        echo "## memory"; cat "$rss"
} >"$out"
cat "$out"

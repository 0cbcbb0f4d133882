#!/bin/bash
# `pull` side by side (../shared/docs/PEERS.md): berth (berthd + berth CLI)
# beside dockerd 20.10 and podman 4.3, all pulling from one reference registry
# (Debian's docker-registry) on 127.0.0.1, each timed run a cold pull into an
# empty store (hyperfine --prepare removes the image, and with it its layers,
# then syncs so no writeback of the previous run is left to pay for):
#   1. debian:minbase  one layer: `debootstrap --variant=minbase bookworm`,
#                      verbatim (~93 MB gzip, ~200 MB, ~6.8k entries)
#   2. debian:5layers  the same rootfs cut into 5 layers of similar size
#                      (parallel download and unpack of layers)
# In the same hyperfine call, floors on the same blobs: `skopeo copy` to a
# dir: (download + digest check only), `tar xzf`, `gzip -d`, `sha256sum`,
# `openssl sha256`.  Then one untimed cold pull each for CPU seconds and the
# store's size after rmi, and dockerd's debug log of one pull (its phases).
# berth is skipped with a message while its pull does not work (trial pull).
#
# Writes bench/results/pull-DATE.md and, beside it, hyperfine's exports
# pull-DATE-{minbase,5layers}.{md,json} (pull-DATE-host* with STORE_FS=host).
# Run as root: bash bench/pull.sh
#
# Environment (defaults):
#   RUNS=5 WARMUP=1              runs of the single-layer image
#   RUNS_LAYERS=RUNS WARMUP_LAYERS=WARMUP    runs of the 5-layer image
#   CACHE=/var/tmp/berth-bench   debootstrap rootfs and OCI layout kept here
#   SUITE=bookworm  MIRROR=      (default: the Debian mirror apt uses here)
#   MANIFEST_FORMAT=v2s2         or oci: manifest type pushed to the registry
#   STORE_FS=loop                stores on a fresh journaled ext4 (loop
#                                device, sparse file of STORE_FS_SIZE=8G);
#                                host: on the temp dir's own fs (see below)
#   BUILD=build  NO_DEPS=1 (do not apt-get install missing tools)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BUILD=${BUILD:-$REPO/build}
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
RUNS_LAYERS=${RUNS_LAYERS:-$RUNS}
WARMUP_LAYERS=${WARMUP_LAYERS:-$WARMUP}
CACHE=${CACHE:-/var/tmp/berth-bench}
SUITE=${SUITE:-bookworm}
MANIFEST_FORMAT=${MANIFEST_FORMAT:-v2s2}
NLAYERS=5
[ "$(id -u)" = 0 ] || { echo "pull.sh: run as root" >&2; exit 1; }

log() { echo "pull.sh: $*" >&2; }

# --- tools ------------------------------------------------------------------
if [ -z "${NO_DEPS:-}" ]; then
        bash scripts/deps-peers.sh >/dev/null 2>&1 || true  # podman docker.io hyperfine ...
        missing=()
        for p in debootstrap docker.io podman skopeo docker-registry hyperfine umoci; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
        done
        if ((${#missing[@]})); then
                log "installing: ${missing[*]}"
                export DEBIAN_FRONTEND=noninteractive
                apt-get update -qq || true
                apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
                        log "warning: some packages could not be installed"
        fi
fi
for t in hyperfine debootstrap umoci skopeo docker-registry curl python3; do
        command -v "$t" >/dev/null || { log "$t is needed"; exit 1; }
done

# --- work dir and tidy-up ---------------------------------------------------
W=$(mktemp -d /var/tmp/berth-bench-pull.XXXXXX)
S=$W/fs # the stores (data roots) and the floors' output: see STORE_FS
REG_PID=
DOCKERD_PID=
BERTHD_PID=
HAVE_PODMAN=0
PODMAN=(podman --root "$S/proot" --runroot "$W/prun" --tmpdir "$W/ptmp"
        --cgroup-manager cgroupfs --events-backend file)
stop_pid() { # pid [seconds]
        local p=$1 i
        kill "$p" 2>/dev/null || return 0
        for i in $(seq 1 $((${2:-10} * 10))); do
                kill -0 "$p" 2>/dev/null || return 0
                sleep 0.1
        done
        log "pid $p still alive after ${2:-10} s: SIGKILL"
        kill -9 "$p" 2>/dev/null || true
}
cleanup() {
        set +e
        [ -n "$BERTHD_PID" ] && stop_pid "$BERTHD_PID"
        [ -n "$DOCKERD_PID" ] && stop_pid "$DOCKERD_PID" 30 # stops its containerd too
        [ $HAVE_PODMAN = 1 ] && "${PODMAN[@]}" rmi -af >/dev/null 2>&1
        [ -n "$REG_PID" ] && stop_pid "$REG_PID"
        # whatever the daemons or podman left mounted under $W, innermost first
        awk -v w="$W" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
                xargs -r -n1 umount -l 2>/dev/null
        rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# This machine's root fs is ext4 *without a journal*; there ext4 will not
# reuse an inode within 60 s (360 s while its table block is dirty) of its
# deletion (fs/ext4/ialloc.c, recently_deleted()), and scanning past them
# is most of the cost of creating files right after deleting as many, which
# is what a cold-pull loop does: untarring the image takes ~2.5 s there
# instead of ~0.3 s on a journaled ext4.  So by default the stores live on a
# fresh journaled ext4, as /var/lib/docker would on a usual host.
STORE_FS=${STORE_FS:-loop} # loop: journaled ext4 on a loop device; host: $W's fs
mkdir -p "$S"
if [ "$STORE_FS" = loop ]; then
        truncate -s "${STORE_FS_SIZE:-8G}" "$W/fs.img"
        mkfs.ext4 -q -F "$W/fs.img"
        mount -o loop "$W/fs.img" "$S"
fi
fs_facts() { # dir: fstype, source, journal or not
        local src typ dev
        src=$(findmnt -no SOURCE -T "$1")
        typ=$(findmnt -no FSTYPE -T "$1")
        dev=$(basename "$src")
        if [ "$typ" = ext4 ]; then
                if [ -e "/sys/fs/ext4/$dev/journal_task" ] && [ "$(cat "/sys/fs/ext4/$dev/journal_task")" = "<none>" ]; then
                        typ="ext4 without journal"
                else
                        typ="ext4 with journal"
                fi
        fi
        echo "$typ on $src ($(findmnt -no OPTIONS -T "$1"))"
}
STORE_FS_FACTS=$(fs_facts "$S")
HOST_FS_FACTS=$(fs_facts "$W")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# utime+stime of a process and of its waited-for children (re-exec'd
# helpers such as dockerd's docker-applyLayer), in clock ticks
cpu_ticks() { awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
child_ticks() { awk '{print $16 + $17}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the Debian rootfs, cached between runs -----------------------------------
debian_mirror() {
        python3 - "$SUITE" <<'PY'
import glob, re, sys
suite = sys.argv[1]
for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for para in re.split(r"\n\s*\n", open(f).read()):
        kv = {}
        for line in para.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            kv[k.strip().lower()] = v.split()
        if ("deb" in kv.get("types", []) and suite in kv.get("suites", [])
                and kv.get("enabled", ["yes"])[0] != "no" and kv.get("uris")):
            print(kv["uris"][0]); sys.exit(0)
for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(f).read().splitlines()
    except OSError:
        continue
    for line in lines:
        w = re.sub(r"\[[^]]*\]", "", line.split("#")[0]).split()
        if len(w) >= 3 and w[0] == "deb" and w[2] == suite:
            print(w[1]); sys.exit(0)
sys.exit(1)
PY
}
ROOTFS_DIR=$CACHE/debian-$SUITE-minbase
ROOTFS=$ROOTFS_DIR/rootfs
mkdir -p "$CACHE"
if [ ! -e "$ROOTFS_DIR/rootfs.done" ]; then
        MIRROR=${MIRROR:-$(debian_mirror)} || { log "no Debian mirror for $SUITE in apt's sources"; exit 1; }
        log "debootstrap --variant=minbase $SUITE (from apt's mirror) into $ROOTFS"
        rm -rf "$ROOTFS_DIR"
        mkdir -p "$ROOTFS_DIR"
        debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS_DIR/debootstrap.log" 2>&1 ||
                { tail -5 "$ROOTFS_DIR/debootstrap.log"; exit 1; }
        date -u +%FT%TZ >"$ROOTFS_DIR/rootfs.done"
fi

# --- OCI layout with both images (umoci), cached too -------------------------
OCI=$CACHE/oci-$SUITE
OCI_VERSION="layout 2, $NLAYERS layers" # change when the images below change
if [ "$(cat "$OCI/done" 2>/dev/null)" != "$OCI_VERSION" ] || [ "$ROOTFS_DIR/rootfs.done" -nt "$OCI/done" ]; then
        log "building the images (umoci) in $OCI"
        rm -rf "$OCI"
        # entries in pre-order; cut into N runs of similar byte size, each
        # run with the parent directories of its entries (like real layers)
        python3 - "$ROOTFS" "$W" "$NLAYERS" <<'PY'
import os, sys
root, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
entries = []  # (path, bytes)
def walk(rel):
    full = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(full)):
        r = os.path.join(rel, name) if rel else name
        st = os.lstat(os.path.join(root, r))
        size = 512 + (st.st_size if os.path.isfile(os.path.join(root, r)) and not os.path.islink(os.path.join(root, r)) else 0)
        entries.append((r, size))
        if os.path.isdir(os.path.join(root, r)) and not os.path.islink(os.path.join(root, r)):
            walk(r)
walk("")
def write(path, chunk):
    names = set()
    for r, _ in chunk:
        p = os.path.dirname(r)
        while p and p not in names:
            names.add(p)
            p = os.path.dirname(p)
        names.add(r)
    with open(path, "wb") as f:
        for r, _ in entries:  # global pre-order: parents before children
            if r in names:
                f.write(r.encode() + b"\0")
write(os.path.join(out, "layers-1.0"), entries)
# close a layer before an entry when that lands nearer its share of what
# is left than taking the entry would (one big file must not swell a layer)
total = sum(s for _, s in entries)
chunks, cur, acc, start = [[] for _ in range(n)], 0, 0, 0
for e in entries:
    target = start + (total - start) / (n - cur)
    if cur < n - 1 and chunks[cur] and acc + e[1] - target > target - acc:
        cur, start = cur + 1, acc
    chunks[cur].append(e)
    acc += e[1]
for i, c in enumerate(chunks):
    write(os.path.join(out, f"layers-{n}.{i}"), c)
PY
        umoci init --layout "$OCI"
        for spec in "minbase 1" "${NLAYERS}layers $NLAYERS"; do
                set -- $spec
                umoci new --image "$OCI:$1"
                for ((i = 0; i < $2; i++)); do
                        tar --numeric-owner --no-recursion --null -C "$ROOTFS" \
                                -T "$W/layers-$2.$i" -cf "$W/layer.tar"
                        umoci raw add-layer --image "$OCI:$1" \
                                --history.created_by "debootstrap --variant=minbase $SUITE, layer $((i + 1))/$2" \
                                "$W/layer.tar"
                done
                umoci config --image "$OCI:$1" --config.cmd bash --no-history
                rm -f "$W/layer.tar"
        done
        umoci gc --layout "$OCI"
        echo "$OCI_VERSION" >"$OCI/done"
fi
# layer blobs of a tag, in order
blobs() {
        python3 - "$OCI" "$1" <<'PY'
import json, sys
oci, tag = sys.argv[1:]
def blob(d):
    return f"{oci}/blobs/{d.split(':')[0]}/{d.split(':')[1]}"
for m in json.load(open(f"{oci}/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
        for l in json.load(open(blob(m["digest"])))["layers"]:
            print(blob(l["digest"]))
PY
}
IMAGES=(minbase "${NLAYERS}layers")
declare -A FACTS
for t in "${IMAGES[@]}"; do
        sizes=$(for b in $(blobs "$t"); do stat -c %s "$b"; done)
        FACTS[$t]=$(echo "$sizes" | awk '{n++; s += $1; l = l ((n > 1) ? " + " : "") sprintf("%.1f", $1 / 1e6)}
                END {printf "%d layer%s, %.1f MB gzip%s", n, ((n > 1) ? "s" : ""), s / 1e6, ((n > 1) ? " (" l ")" : "")}')
done
UNPACKED_MB=$(du -sx --block-size=1 --apparent-size "$ROOTFS" | awk '{printf "%.0f", $1 / 1e6}')
ENTRIES=$(find "$ROOTFS" -xdev | wc -l)

# --- registry on loopback ---------------------------------------------------
PORT=$(free_port)
REG=127.0.0.1:$PORT
cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/registry
  delete:
    enabled: true
http:
  addr: $REG
EOF
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 100); do curl -sf "http://$REG/v2/" >/dev/null && break; sleep 0.1; done
curl -sf "http://$REG/v2/" >/dev/null || { cat "$W/registry.log"; log "registry did not start"; exit 1; }
for t in "${IMAGES[@]}"; do
        skopeo copy -q --format "$MANIFEST_FORMAT" --dest-tls-verify=false \
                "oci:$OCI:$t" "docker://$REG/debian:$t"
done

# --- contenders -------------------------------------------------------------
names=()                    # contender names, in hyperfine order
declare -A PULL PREP       # command line, prepare line
declare -A DAEMON          # pids whose CPU counts for the contender

HAVE_DOCKER=0
if command -v dockerd >/dev/null && command -v docker >/dev/null; then
        echo '{}' >"$W/daemon.json" # not /etc/docker/daemon.json
        dockerd --config-file "$W/daemon.json" --data-root "$S/droot" --exec-root "$W/dexec" \
                -H "unix://$W/docker.sock" --pidfile "$W/docker.pid" --bridge none --iptables=false \
                --insecure-registry "$REG" >"$W/dockerd.log" 2>&1 &
        DOCKERD_PID=$!
        for _ in $(seq 1 300); do
                docker -H "unix://$W/docker.sock" version >/dev/null 2>&1 && { HAVE_DOCKER=1; break; }
                sleep 0.1
        done
        [ $HAVE_DOCKER = 1 ] || { tail -5 "$W/dockerd.log"; log "dockerd did not start: docker skipped"; }
fi
if [ $HAVE_DOCKER = 1 ]; then
        names+=(docker)
        PULL[docker]="docker -H unix://$W/docker.sock pull"
        PREP[docker]="docker -H unix://$W/docker.sock rmi -f"
        DAEMON[docker]="$DOCKERD_PID $(pgrep -P "$DOCKERD_PID" containerd || true)"
fi

if command -v podman >/dev/null; then
        HAVE_PODMAN=1
        names+=(podman)
        PULL[podman]="${PODMAN[*]} pull --tls-verify=false"
        PREP[podman]="${PODMAN[*]} rmi -f"
        DAEMON[podman]=""
fi

BERTH_NOTE=
BERTH_BUILT="built $(date -u -r "$BUILD/src/daemon/berthd" +%FT%TZ 2>/dev/null || echo '?'), tree at $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
B=()
if [ -x "$BUILD/src/daemon/berthd" ] && [ -x "$BUILD/src/cli/berth" ]; then
        B=("$BUILD/src/cli/berth" -H "unix://$W/berth.sock")
        "$BUILD/src/daemon/berthd" --data-root "$S/b" --exec-root "$W/bx" -H "unix://$W/berth.sock" \
                --shim-binary "$BUILD/src/shim/berth-shim" --init-binary "$BUILD/src/init/berth-init" \
                >"$W/berthd.log" 2>&1 &
        BERTHD_PID=$!
        for _ in $(seq 1 100); do "${B[@]}" version >/dev/null 2>&1 && break; sleep 0.05; done
        if ! "${B[@]}" version >/dev/null 2>&1; then
                BERTH_NOTE="berthd did not start: $(tail -1 "$W/berthd.log")"
        elif ! out=$("${B[@]}" pull "$REG/debian:minbase" 2>&1); then
                BERTH_NOTE="\`berth pull\` does not work yet: $(echo "$out" | head -1)"
        elif ! out=$("${B[@]}" rmi -f "$REG/debian:minbase" 2>&1); then
                BERTH_NOTE="\`berth rmi\` after a pull failed (no cold runs possible): $(echo "$out" | head -1)"
        else
                names=(berth "${names[@]}")
                PULL[berth]="${B[*]} pull"
                PREP[berth]="${B[*]} rmi -f"
                DAEMON[berth]=$BERTHD_PID
        fi
else
        BERTH_NOTE="no berthd/berth in $BUILD (build first)"
fi
[ -n "$BERTH_NOTE" ] && log "berth skipped: $BERTH_NOTE"
((${#names[@]})) || { log "no contender to measure"; exit 1; }

store_of() {
        case $1 in
        docker) echo "$S/droot" ;;
        podman) echo "$S/proot" ;;
        berth) echo "$S/b" ;;
        esac
}
kb() { du -sxk "$1" 2>/dev/null | cut -f1; }

# One untimed cold pull per contender and image: checks it works, the CPU
# it costs (command and its children, plus its daemon's), and that removing
# the image empties the store (no layer cache left to make later runs warm).
# Prints: wall_s cmd_cpu_s daemon_cpu_s daemon_children_cpu_s
trial() { # name image
        local name=$1 img=$2 before=0 after=0 cbefore=0 cafter=0 p r
        sh -c "${PREP[$name]} $img" >/dev/null 2>&1 || true
        sync; sync
        for p in ${DAEMON[$name]}; do
                before=$((before + $(cpu_ticks "$p")))
                cbefore=$((cbefore + $(child_ticks "$p")))
        done
        r=$(python3 - ${PULL[$name]} "$img" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc.returncode:
    sys.stderr.write(rc.stderr.decode()[-500:])
    sys.exit(1)
print(f"{wall:.2f} {ru.ru_utime + ru.ru_stime:.2f}")
PY
) || return 1
        for p in ${DAEMON[$name]}; do
                after=$((after + $(cpu_ticks "$p")))
                cafter=$((cafter + $(child_ticks "$p")))
        done
        echo "$r $(awk -v t=$((after - before)) -v c=$((cafter - cbefore)) -v h="$TICK" \
                'BEGIN {printf "%.2f %.2f", t / h, c / h}')"
}
declare -A TRIALROW
for t in "${IMAGES[@]}"; do
        img=$REG/debian:$t
        for name in "${names[@]}"; do
                if ! r=$(trial "$name" "$img"); then
                        log "$name: trial pull of $img failed: dropped"
                        mapfile -t names < <(printf "%s\n" "${names[@]}" | grep -vx "$name")
                        continue
                fi
                full=$(kb "$(store_of "$name")")
                sh -c "${PREP[$name]} $img" >/dev/null 2>&1 || true
                empty=$(kb "$(store_of "$name")")
                set -- $r
                TRIALROW[$name/$t]="| $name | $t | $1 | $2 | $3 (children $4) | $((full / 1024)) | $((empty / 1024)) |"
                if [ "$empty" -gt 8192 ]; then
                        log "warning: $name's store still holds $((empty / 1024)) MB after rmi"
                fi
        done
done

# --- hyperfine: contenders and floors in one call per image ---------------------
DATE=$(date +%Y-%m-%d)
[ "$STORE_FS" = loop ] || DATE=$DATE-$STORE_FS # results of another layout beside, not over
RES=$REPO/bench/results
mkdir -p "$RES" "$S/x"
declare -A CMDNAMES
for t in "${IMAGES[@]}"; do
        img=$REG/debian:$t
        bl=$(blobs "$t" | tr '\n' ' ')
        args=()
        labels=()
        for name in "${names[@]}"; do
                args+=(-n "$name pull" --prepare "sh -c '${PREP[$name]} $img >/dev/null 2>&1; sync; sync'"
                        "${PULL[$name]} $img")
                labels+=("$name")
        done
        args+=(-n "floor: skopeo copy to dir: (download + verify)"
                --prepare "sh -c 'rm -rf $S/sk; sync; sync'"
                "skopeo copy -q --src-tls-verify=false docker://$img dir:$S/sk")
        args+=(-n "floor: tar xzf" --prepare "sh -c 'rm -rf $S/x; mkdir $S/x; sync; sync'"
                "sh -c 'for b in $bl; do tar --numeric-owner -xzf \$b -C $S/x || exit 1; done'")
        args+=(-n "floor: gzip -d" --prepare "true" "gzip -dc $bl")
        args+=(-n "floor: sha256sum" --prepare "true" "sha256sum $bl")
        labels+=(skopeo tar gzip sha256)
        if command -v openssl >/dev/null; then # uses SHA-NI where the CPU has it
                args+=(-n "floor: openssl sha256" --prepare "true" "openssl sha256 $bl")
                labels+=(openssl)
        fi
        CMDNAMES[$t]="${labels[*]}"
        if [ "$t" = minbase ]; then r=$RUNS w=$WARMUP; else r=$RUNS_LAYERS w=$WARMUP_LAYERS; fi
        log "hyperfine: $t ($w warmup, $r runs)"
        hyperfine -N --warmup "$w" --runs "$r" \
                --export-json "$RES/pull-$DATE-$t.json" --export-markdown "$RES/pull-$DATE-$t.md" \
                "${args[@]}" | tee "$W/hyperfine-$t.txt"
        # the temp dirs in the exports would be gone by tomorrow: name them
        sed -i -e "s#$S#\$S#g" -e "s#$W#\$W#g" -e "s#$OCI#\$CACHE/oci-$SUITE#g" "$RES/pull-$DATE-$t.json" "$RES/pull-$DATE-$t.md"
        rm -rf "$S/sk" "$S/x"
        for name in "${names[@]}"; do sh -c "${PREP[$name]} $img" >/dev/null 2>&1 || true; done
done

# --- where dockerd's time goes: one traced cold pull (debug log, SIGHUP) ----------
TRACE=
if [ $HAVE_DOCKER = 1 ] && printf '%s\n' "${names[@]}" | grep -qx docker; then
        for t in "${IMAGES[@]}"; do
                img=$REG/debian:$t
                echo '{"debug": true}' >"$W/daemon.json"
                kill -HUP "$DOCKERD_PID"
                sleep 1
                sh -c "${PREP[docker]} $img" >/dev/null 2>&1 || true
                sync; sync
                off=$(stat -c %s "$W/dockerd.log")
                ${PULL[docker]} "$img" >/dev/null
                sleep 0.5
                TRACE+="$(tail -c +$((off + 1)) "$W/dockerd.log" | python3 -c '
import re, sys
from datetime import datetime
t0 = None
keep = re.compile(r"images/create|pulling blob|Downloaded|Applying tar|Applied tar|Untar|layer sha256|Pull(ed|ing)|Cleaning up|docker-applyLayer")
for line in sys.stdin:
    m = re.search(r"time=\"([^\"]+)\".*?msg=\"(.*?)\"(?: |$)", line)
    if not m or not keep.search(m.group(2)):
        continue
    ts = m.group(1)
    ts = re.sub(r"(\.\d{6})\d*", r"\1", ts)
    ts = re.sub(r"Z$", "+00:00", ts)
    t = datetime.fromisoformat(ts)
    t0 = t0 or t
    msg = re.sub(r"/var/tmp/berth-bench-pull\.\w+/fs/", "$S/", m.group(2))
    msg = re.sub(r"/var/tmp/berth-bench-pull\.\w+", "$W", msg)
    msg = re.sub(r"127\.0\.0\.1(:|%3A)\d+", r"127.0.0.1\1PORT", msg)
    msg = re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"\1", msg)
    msg = re.sub(r"([0-9a-f]{12})[0-9a-f]{52}", r"\1", msg)
    print(f"{(t - t0).total_seconds():7.3f}s  {msg[:150]}")
')"$'\n\n'
                sh -c "${PREP[docker]} $img" >/dev/null 2>&1 || true
        done
        echo '{}' >"$W/daemon.json"
        kill -HUP "$DOCKERD_PID"
fi

# --- report -----------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then CG="v2 (unified)"
elif [ -d /sys/fs/cgroup/unified ]; then CG="hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)"
else CG=v1; fi
OUT=$RES/pull-$DATE.md
{
        echo "# pull: berth vs dockerd vs podman — $(date -u +%FT%TZ)$([ "$STORE_FS" = loop ] || echo " (STORE_FS=$STORE_FS)")"
        echo
        echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), cgroup $CG; load average $LOAD_START at start, $LOAD_END at end."
        echo "Versions: $(docker -H "unix://$W/docker.sock" version --format 'docker CLI {{.Client.Version}}, dockerd {{.Server.Version}}' 2>/dev/null || dockerd --version) (storage driver $(docker -H "unix://$W/docker.sock" info --format '{{.Driver}}' 2>/dev/null)); $(podman --version) (storage driver $("${PODMAN[@]}" info --format '{{.Store.GraphDriverName}}' 2>/dev/null)); $(skopeo --version); $(docker-registry --version 2>/dev/null | head -1); $(umoci --version); $(hyperfine --version); $("$BUILD/src/cli/berth" --version 2>/dev/null | head -1 || echo 'berth ?') (berthd as started: $BERTH_BUILT)."
        echo "Command: \`bash bench/pull.sh\` (RUNS=$RUNS WARMUP=$WARMUP RUNS_LAYERS=$RUNS_LAYERS WARMUP_LAYERS=$WARMUP_LAYERS MANIFEST_FORMAT=$MANIFEST_FORMAT)."
        echo
        echo "Images (umoci from a \`debootstrap --variant=minbase $SUITE\` rootfs, verbatim: $UNPACKED_MB MB, $ENTRIES entries; pushed with \`skopeo copy --format $MANIFEST_FORMAT\` to docker-registry on 127.0.0.1):"
        for t in "${IMAGES[@]}"; do echo "- \`debian:$t\`: ${FACTS[$t]}"; done
        echo
        echo "Stores (data roots) and the floors' output: $STORE_FS_FACTS (STORE_FS=$STORE_FS); the temp dir's own fs: $HOST_FS_FACTS."
        echo
        echo "Each timed run is a cold pull: hyperfine's --prepare removes the image (\`rmi -f\`, which drops its layers) and syncs. Registry blobs and floor inputs are in the page cache. dockerd: \`--bridge none --iptables=false\`, own data/exec root, empty config file. podman: own --root/--runroot/--tmpdir, \`--cgroup-manager cgroupfs --events-backend file\`."
        [ -n "$BERTH_NOTE" ] && { echo; echo "**berth not measured**: $BERTH_NOTE"; }
        for t in "${IMAGES[@]}"; do
                if [ "$t" = minbase ]; then r=$RUNS w=$WARMUP; else r=$RUNS_LAYERS w=$WARMUP_LAYERS; fi
                echo
                echo "## debian:$t — ${FACTS[$t]} (hyperfine -N, $w warmup, $r runs)"
                echo
                python3 - "$RES/pull-$DATE-$t.json" ${CMDNAMES[$t]} <<'PY'
import json, math, sys
res = json.load(open(sys.argv[1]))["results"]
names = sys.argv[2:]
by = dict(zip(names, res))
print("| contender | mean ± σ (s) | min (s) | max (s) | user + sys of the command (s) | σ/mean |")
print("|---|---|---|---|---|---|")
for n, r in zip(names, res):
    label = r["command"]
    print(f"| {label} | {r['mean']:.3f} ± {r['stddev']:.3f} | {r['min']:.3f} | {r['max']:.3f} | "
          f"{r['user'] + r['system']:.2f} | {100 * r['stddev'] / r['mean']:.0f} % |")
if "berth" in by:
    b = by["berth"]
    rows = []
    for peer in ("docker", "podman"):
        if peer in by:
            p = by[peer]
            ratio = b["mean"] / p["mean"]
            err = ratio * math.hypot(b["stddev"] / b["mean"], p["stddev"] / p["mean"])
            rows.append(f"berth/{peer} = {ratio:.2f} ± {err:.2f}")
    print()
    print("Ratio of means (lower is better for berth): " + "; ".join(rows) + ".")
noisy = [r["command"] for r in res if r["stddev"] > 0.1 * r["mean"]]
if noisy:
    print()
    print("Noisy (σ > 10 % of the mean): " + ", ".join(noisy) + ".")
PY
                echo
                echo "hyperfine's exports: [pull-$DATE-$t.md](pull-$DATE-$t.md), [pull-$DATE-$t.json](pull-$DATE-$t.json)."
        done
        echo
        echo "## One untimed cold pull each: CPU, and the store after \`rmi\`"
        echo
        echo "CPU = user + system seconds of the command with its children, and of its daemon (dockerd and containerd, or berthd), of which \"children\" is what the daemon's short-lived helpers used (dockerd re-executes itself as \`docker-applyLayer\` to untar each layer in a chroot; berthd forks a pull worker). The registry's CPU is not counted."
        echo
        echo "| contender | image | wall (s) | command CPU (s) | daemon CPU (s) | store after pull (MB) | store after rmi (MB) |"
        echo "|---|---|---|---|---|---|---|"
        for t in "${IMAGES[@]}"; do
                for name in "${names[@]}"; do
                        [ -n "${TRIALROW[$name/$t]:-}" ] && echo "${TRIALROW[$name/$t]}"
                done
        done
        if [ -n "$TRACE" ]; then
                echo
                echo "## Where dockerd's time goes: its debug log during one cold pull of each image"
                echo
                echo '```'
                printf '%s' "$TRACE"
                echo '```'
        fi
        echo
        echo "## Command lines (\$W: the run's temporary directory; \$S: \$W/fs, the stores' file system; PORT: a free port)"
        echo
        for name in "${names[@]}"; do
                echo "- $name: \`${PULL[$name]} 127.0.0.1:PORT/debian:TAG\`, prepare \`${PREP[$name]} 127.0.0.1:PORT/debian:TAG; sync; sync\`"
        done
        echo "- floors: \`skopeo copy --src-tls-verify=false docker://127.0.0.1:PORT/debian:TAG dir:\$S/sk\`; \`tar --numeric-owner -xzf BLOB -C \$S/x\` (layer by layer); \`gzip -dc BLOB...\`; \`sha256sum BLOB...\`; \`openssl sha256 BLOB...\`"
        echo "- dockerd: \`dockerd --config-file \$W/daemon.json --data-root \$S/droot --exec-root \$W/dexec -H unix://\$W/docker.sock --pidfile \$W/docker.pid --bridge none --iptables=false --insecure-registry 127.0.0.1:PORT\`"
        echo "- berthd: \`build/src/daemon/berthd --data-root \$S/b --exec-root \$W/bx -H unix://\$W/berth.sock --shim-binary build/src/shim/berth-shim --init-binary build/src/init/berth-init\`"
} | sed -e "s#$S#\$S#g" -e "s#$W#\$W#g" -e "s#$REG#127.0.0.1:PORT#g" -e "s#$REPO/##g" >"$OUT"
cat "$OUT"
log "results: $OUT"

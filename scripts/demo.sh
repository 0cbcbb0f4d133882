#!/bin/bash
# berth's main job, until the daemon exists: run a busybox container with
# berth-runtime from a bundle made on the spot from Debian's busybox-static.
set -euo pipefail
RUNTIME=${RUNTIME:-/usr/local/bin/berth-runtime}
DEMO=$(mktemp -d /tmp/berth-demo.XXXXXX)
ID="berth-demo-$$"
cleanup() {
        "$RUNTIME" --root "$DEMO/state" delete --force "$ID" >/dev/null 2>&1 || true
        rm -rf "$DEMO"
}
trap cleanup EXIT

mkdir -p "$DEMO/bundle/rootfs"/{bin,proc,sys,dev,etc,tmp}
cp /bin/busybox "$DEMO/bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$DEMO/bundle/rootfs/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$DEMO/bundle/rootfs/etc/passwd"
echo "root:x:0:" >"$DEMO/bundle/rootfs/etc/group"

cd "$DEMO/bundle"
"$RUNTIME" spec
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c",
    "echo \"hello from $(hostname): pid $$ as uid $(id -u)\"; "
    "echo mounts: $(wc -l </proc/self/mounts); "
    "echo capabilities: $(grep CapEff /proc/self/status)"]
c["hostname"] = "berth-demo"
json.dump(c, open("config.json", "w"), indent=2)
PY
echo "+ berth-runtime run $ID"
start=$(date +%s%N)
"$RUNTIME" --root "$DEMO/state" run "$ID"
end=$(date +%s%N)
echo "container ran and was removed in $(( (end - start) / 1000000 )) ms"

#!/bin/bash
# Create berth's built-in default image, berth/busybox:latest, from
# Debian's busybox-static: no registry needed.  Usage:
#   scripts/default-image.sh [BERTH_CLI]
set -euo pipefail
BERTH=${1:-berth}
TAG=${BERTH_DEFAULT_IMAGE:-berth/busybox:latest}
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "default-image: $BUSYBOX missing (apt install busybox-static)" >&2; exit 1; }
ROOT=$(mktemp -d /tmp/berth-default-image.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,etc,root,tmp,proc,sys,dev,home,var/tmp,usr/bin,usr/sbin,sbin}
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$ROOT/bin/$applet"
done
cat >"$ROOT/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$ROOT/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
tar --numeric-owner --owner=0 --group=0 -C "$ROOT" -c . |
        "$BERTH" import -c 'CMD ["sh"]' \
                -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                - "$TAG"

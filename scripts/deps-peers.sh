#!/bin/bash
# Peers for interoperability tests and benchmarks (PEERS.md): best effort,
# tests that need a missing peer are skipped with a reason.
set -uo pipefail
PKGS=(runc crun podman containerd docker.io hyperfine)
missing=()
for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
        echo "installing peers: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || true
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || \
                echo "warning: some peers could not be installed"
fi

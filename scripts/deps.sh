#!/bin/bash
# Install every package berth's build and tests need (Debian 12).
# Quiet when everything is already there.
set -euo pipefail
PKGS=(meson ninja-build pkg-config gcc libc6-dev libjansson-dev
      libseccomp-dev libcmocka-dev busybox-static python3 python3-pytest
      clang-format cppcheck iproute2 procps util-linux
      libmicrohttpd-dev libarchive-dev libcurl4-openssl-dev libssl-dev
      python3-docker libisal-dev libzstd-dev zlib1g-dev
      docker-registry skopeo apache2-utils openssl zstd ca-certificates
      libmnl-dev libnftables-dev nftables docker-compose curl)
# `deps.sh tests` adds what only the tests need: QEMU and Debian 12's
# kernel for the kernel matrix (never installed by `make demo`: a kernel
# package changes the host's boot configuration).
if [ "${1:-}" = tests ]; then
        PKGS+=(qemu-system-x86 linux-image-amd64)
fi
missing=()
for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
        echo "installing: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/bin/bash
# Run a command on another kernel and cgroup layout: a QEMU guest (TCG, no
# KVM needed) booting Debian's own kernel with this machine's / as its root
# (9p, read-only, under a tmpfs overlay), so the guest runs the berth this
# checkout built without an image of its own.
#
#   tests/vm/vm.sh CELL OUTDIR 'commands...'
#
# CELL: v2 (cgroup v2 only, empty root subtree_control, no systemd),
#       v1 (legacy hierarchies only, no systemd).
# The commands run as root in the guest's root with the checkout at the
# same path; their output goes to OUTDIR/out, their exit status to
# OUTDIR/rc.  Exits with that status (125 when the guest never reported).
set -euo pipefail
cell=$1 out=$2 cmd=$3
here=$(cd "$(dirname "$0")" && pwd)
kver=${BERTH_VM_KERNEL:-$(ls /lib/modules | sort -V | grep '^6\.1\.' | tail -1)}
[ -n "$kver" ] && [ -f "/boot/vmlinuz-$kver" ] || {
        echo "vm: no 6.1 kernel installed (apt-get install linux-image-amd64)" >&2
        exit 125
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/rc" "$out/out"
printf '%s\n' "$cmd" >"$out/cmd.sh"
# The checkout, which the guest keeps visible at its path (vm-init.sh).
(cd "$here/../.." && pwd) >"$out/srcdir"

# The initramfs: static busybox, the modules the guest needs (with their
# dependencies, in load order) and init.  Cached by kernel and script.
mods="virtio_pci 9pnet_virtio 9p overlay veth bridge br_netfilter nf_tables
      nft_chain_nat nft_masq nft_ct nft_nat nft_fib_inet nft_reject_inet
      nft_compat nft_limit tun xt_conntrack xt_MASQUERADE iptable_nat"
key=$(cat "$here/vm.sh" "$here/vm-init.sh" "$here/vm-stage2.sh" | sha256sum | cut -c1-16)
initrd=/var/tmp/berth-vm-$kver-$key.cpio.gz
if [ ! -f "$initrd" ]; then
        tmp=$(mktemp -d /tmp/berth-vm-initrd.XXXXXX)
        trap 'rm -rf "$tmp"' EXIT
        mkdir -p "$tmp"/{bin,proc,sys,dev,lower,rw,newroot,mods}
        cp /bin/busybox "$tmp/bin/busybox"
        for a in sh mount umount mkdir insmod chroot switch_root poweroff \
                 cat echo sleep ln mknod cp sync ip; do
                ln -s busybox "$tmp/bin/$a"
        done
        n=0
        for m in $mods; do
                modprobe -S "$kver" --show-depends "$m" 2>/dev/null |
                        awk '$1 == "insmod" {print $2}'
        done | awk '!seen[$0]++' | while read -r ko; do
                n=$((n + 1))
                base=$(printf '%03d-%s' "$n" "$(basename "$ko")")
                case $ko in
                *.xz) xz -dc "$ko" >"$tmp/mods/${base%.xz}" ;;
                *.zst) zstd -qdc "$ko" >"$tmp/mods/${base%.zst}" ;;
                *) cp "$ko" "$tmp/mods/$base" ;;
                esac
        done
        cp "$here/vm-init.sh" "$tmp/init"
        cp "$here/vm-stage2.sh" "$tmp/stage2.sh"
        chmod 755 "$tmp/init"
        (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.new"
        mv "$initrd.new" "$initrd"
        # Older initramfs images (other scripts or kernels) are not kept.
        find /var/tmp -maxdepth 1 -name 'berth-vm-*.cpio.gz' \
                ! -path "$initrd" -delete
        rm -rf "$tmp"
        trap - EXIT
fi

append="console=ttyS0 panic=-1 berth.cell=$cell loglevel=4"
case $cell in
v2) append="$append cgroup_no_v1=all" ;;
v1) ;;
*) echo "vm: unknown cell '$cell'" >&2; exit 2 ;;
esac

timeout "${BERTH_VM_TIMEOUT:-3000}" qemu-system-x86_64 \
        -accel tcg -cpu max -smp "${BERTH_VM_CPUS:-2}" -m "${BERTH_VM_MEM:-3072}" \
        -kernel "/boot/vmlinuz-$kver" -initrd "$initrd" -append "$append" \
        -nographic -no-reboot -nic none \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        -virtfs local,path="$out",mount_tag=results,security_model=none,multidevs=remap \
        >"$out/console" 2>&1 || true
if [ ! -f "$out/rc" ]; then
        echo "vm: the guest did not report (console in $out/console)" >&2
        tail -20 "$out/console" >&2
        exit 125
fi
exit "$(cat "$out/rc")"

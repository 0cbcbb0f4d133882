#!/bin/sh
# PID 1 of a berth test guest (see vm.sh): load modules, put a tmpfs
# overlay over the host's / (9p), mount the cgroup layout of the cell,
# run /results/cmd.sh in that root, report, power off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in /mods/*.ko; do insmod "$m" 2>/dev/null; done
cell=$(sed -n 's/.*berth\.cell=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower
mount -t tmpfs -o size=80% rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot
R=/newroot
mkdir -p $R/results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results $R/results
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
# Overlayfs cannot be an upper layer of berth's own overlays: what berth
# writes lives on tmpfs.
# /var/tmp stays on the overlay root, as on container hosts whose root is
# an overlay (O_TMPFILE there needs Linux 6.6).
for d in tmp run var/lib/berth var/lib/containers var/lib/docker; do
        mkdir -p $R/$d
        mount -t tmpfs -o mode=1777 tmp $R/$d
done
# The checkout the tests run from may lie under one of those (CI clones
# into /tmp): bring the host's copy back at its own path.
src=$(cat $R/results/srcdir 2>/dev/null)
if [ -n "$src" ] && [ -d "/lower$src" ]; then
        mkdir -p "$R$src"
        mount -o bind "/lower$src" "$R$src"
fi
case $cell in
v2)
        mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
        ;;
v1)
        mount -t tmpfs -o mode=755 cgroup $R/sys/fs/cgroup
        for c in cpu,cpuacct cpuset memory devices freezer blkio pids net_cls,net_prio perf_event hugetlb; do
                mkdir -p $R/sys/fs/cgroup/$c
                mount -t cgroup -o $c cgroup $R/sys/fs/cgroup/$c
        done
        ln -s cpu,cpuacct $R/sys/fs/cgroup/cpu
        ln -s cpu,cpuacct $R/sys/fs/cgroup/cpuacct
        ;;
esac
# switch_root, not chroot: the guest's root must be a mount on top of the
# namespace's root as on a real host (pivot_root and setns into a mount
# namespace rely on it).  Stage two runs as PID 1 in the new root.
cp /stage2.sh $R/run/berth-vm-stage2.sh
exec switch_root $R /bin/sh /run/berth-vm-stage2.sh

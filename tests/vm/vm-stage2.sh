#!/bin/sh
# PID 1 of a berth test guest after switch_root (see vm-init.sh): run
# /results/cmd.sh, report its output and status, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
cd /
ip link set lo up 2>/dev/null
# As on any host that runs a container engine (berthd turns it on unless
# --ip-forward=false, which the tests' daemons pass to leave the host's
# setting alone): published ports reached across bridges are routed.
sysctl -qw net.ipv4.ip_forward=1
sh /results/cmd.sh >/results/out.tmp 2>&1
echo $? >/results/rc.tmp
mv /results/out.tmp /results/out
mv /results/rc.tmp /results/rc
sync
umount /results
/bin/busybox poweroff -f

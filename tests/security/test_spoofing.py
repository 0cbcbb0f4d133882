"""Attacker's checklist, SECURITY.md §14: spoofing between containers.

Every container keeps CAP_NET_RAW (a default capability), so it can
write whole Ethernet frames.  Container A forges frames (berth-probe
udp-frame / arp-frame) claiming container B's IPv4 address, a MAC that is
not its own, or B's and the gateway's addresses in ARP; they go to
container C (which logs every datagram: berth-probe udp-log) and to the
host.  None may arrive; A's honest frames, sent the same way, do.
"""
import json
import os
import socket
import time

import pytest

PROBE = os.environ.get("BERTH_PROBE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "berth-probe")
FOREIGN_MAC = "02:42:de:ad:be:ef"


@pytest.fixture(scope="module")
def trio(engine):
    """Containers A (attacker), B (impersonated), C (victim, logging UDP
    port 6000) on the default bridge."""
    if not os.path.exists(PROBE):
        pytest.skip("berth-probe is not built")
    e = engine
    probe = os.path.realpath(PROBE)
    tag = os.urandom(3).hex()
    names = {k: f"spoof{k}{tag}" for k in "abc"}
    try:
        for k, name in names.items():
            cmd = ["/probe", "udp-log", "6000"] if k == "c" else \
                ["sleep", "300"]
            e.docker("run", "-d", "--name", name, "-v",
                     f"{probe}:/probe:ro", e.image, *cmd)
        info = {}
        for k, name in names.items():
            j = json.loads(e.docker("inspect", name).stdout)[0]
            mac = e.docker("exec", name, "cat",
                           "/sys/class/net/eth0/address").stdout.decode()
            info[k] = {"name": name, "mac": mac.strip(),
                       "ip": j["NetworkSettings"]["IPAddress"]}
        info["gw"] = j["NetworkSettings"]["Gateway"]
        yield info
    finally:
        for name in names.values():
            e.docker("rm", "-f", name, check=False)


def send(engine, who, kind, *args, iface="eth0"):
    r = engine.docker("exec", who["name"], "/probe", kind, iface, *args)
    assert r.stdout.decode().strip() == "sent", r.stdout


def c_log(engine, t):
    return engine.docker("logs", t["c"]["name"]).stdout.decode()


def wait_in_log(engine, t, text, seconds=3):
    end = time.time() + seconds
    while time.time() < end:
        if text in c_log(engine, t):
            return True
        time.sleep(0.1)
    return False


def test_forged_ip_and_mac_to_another_container(engine, trio):
    e, t = engine, trio
    a, b, c = t["a"], t["b"], t["c"]
    send(e, a, "udp-frame", c["mac"], "-", "-", c["ip"], "6000", "honest")
    assert wait_in_log(e, t, a["ip"] + " honest"), c_log(e, t)
    send(e, a, "udp-frame", c["mac"], "-", b["ip"], c["ip"], "6000",
         "forged-ip")
    send(e, a, "udp-frame", c["mac"], FOREIGN_MAC, "-", c["ip"], "6000",
         "forged-mac")
    send(e, a, "udp-frame", c["mac"], b["mac"], b["ip"], c["ip"], "6000",
         "forged-both")
    # A second honest datagram after the forged ones: when it is in, so
    # would they be.
    send(e, a, "udp-frame", c["mac"], "-", "-", c["ip"], "6000", "honest2")
    assert wait_in_log(e, t, "honest2")
    log = c_log(e, t)
    for forged in ("forged-ip", "forged-mac", "forged-both"):
        assert forged not in log, f"a spoofed frame arrived: {log}"


def test_forged_ip_to_the_host(engine, trio):
    e, t = engine, trio
    a, b = t["a"], t["b"]
    with open(f"/sys/class/net/{e.bridge}/address") as f:
        gw_mac = f.read().strip()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((t["gw"], 0))
    s.settimeout(3)
    port = str(s.getsockname()[1])
    try:
        send(e, a, "udp-frame", gw_mac, "-", b["ip"], t["gw"], port,
             "forged-ip")
        send(e, a, "udp-frame", gw_mac, "-", "-", t["gw"], port, "honest")
        got = []
        try:
            while True:
                got.append(s.recvfrom(2048))
                s.settimeout(0.5)
        except socket.timeout:
            pass
        assert got == [(b"honest", (a["ip"], 40000))], got
    finally:
        s.close()


def arp_table(engine, who):
    """IP -> MAC from /proc/net/arp inside `who`."""
    text = engine.docker("exec", who["name"], "cat",
                         "/proc/net/arp").stdout.decode()
    return {f[0]: f[3] for f in (l.split() for l in text.splitlines()[1:])}


def test_arp_poisoning(engine, trio):
    """An ARP request to C saying "B's (or the gateway's) address is at
    A's MAC" would make C send B's traffic to A: it must not arrive.  The
    same request with A's own address does."""
    e, t = engine, trio
    a, b, c = t["a"], t["b"], t["c"]
    send(e, a, "arp-frame", c["mac"], "-", "request", "-", c["ip"])
    end = time.time() + 3
    while time.time() < end and arp_table(e, c).get(a["ip"]) != a["mac"]:
        time.sleep(0.1)
    assert arp_table(e, c).get(a["ip"]) == a["mac"], arp_table(e, c)
    for victim_ip in (b["ip"], t["gw"]):
        send(e, a, "arp-frame", c["mac"], "-", "request", victim_ip,
             c["ip"])
    # A's own address at a MAC that is not A's (requests always update
    # the entry: no lock time).
    send(e, a, "arp-frame", c["mac"], FOREIGN_MAC, "request", "-", c["ip"])
    time.sleep(1)
    table = arp_table(e, c)
    assert table.get(b["ip"]) != a["mac"], f"ARP poisoned: {table}"
    assert table.get(t["gw"]) != a["mac"], f"ARP poisoned: {table}"
    assert table.get(a["ip"]) == a["mac"], f"ARP poisoned: {table}"


def test_connected_network_is_checked_too(engine, trio, unique):
    """`network connect` on a running container: its new interface is
    held to its new address from the first frame."""
    e, t = engine, trio
    a = t["a"]
    net = unique + "-spoofnet"
    sub = e.subnet(7)
    e.docker("network", "create", "--subnet", sub, net)
    d = dict(name=unique + "-spoofd")
    try:
        e.docker("run", "-d", "--name", d["name"], "--network", net, "-v",
                 f"{os.path.realpath(PROBE)}:/probe:ro", e.image, "/probe",
                 "udp-log", "6000")
        e.docker("network", "connect", net, a["name"])
        j = json.loads(e.docker("inspect", d["name"]).stdout)[0]
        d_ip = j["NetworkSettings"]["Networks"][net]["IPAddress"]
        d_mac = e.docker("exec", d["name"], "cat",
                         "/sys/class/net/eth0/address").stdout.decode().strip()
        forged = sub.rsplit(".", 1)[0] + ".200"
        send(e, a, "udp-frame", d_mac, "-", forged, d_ip, "6000",
             "forged-eth1", iface="eth1")
        send(e, a, "udp-frame", d_mac, "-", "-", d_ip, "6000", "honest-eth1",
             iface="eth1")
        end = time.time() + 3
        log = ""
        while time.time() < end and "honest-eth1" not in log:
            log = e.docker("logs", d["name"]).stdout.decode()
            time.sleep(0.1)
        assert "honest-eth1" in log and "forged-eth1" not in log, log
    finally:
        e.docker("rm", "-f", d["name"], check=False)
        e.docker("network", "disconnect", "-f", net, a["name"], check=False)
        e.docker("network", "rm", net, check=False)


def test_checks_survive_a_daemon_restart(engine, trio):
    """A restarted daemon re-adopts the running containers: their ports
    are still held to their addresses (and no unchecked table is written
    in between)."""
    e, t = engine, trio
    a, b, c = t["a"], t["b"], t["c"]
    e.restart_daemon()
    send(e, a, "udp-frame", c["mac"], "-", b["ip"], c["ip"], "6000",
         "after-restart-forged")
    send(e, a, "udp-frame", c["mac"], "-", "-", c["ip"], "6000",
         "after-restart-honest")
    assert wait_in_log(e, t, "after-restart-honest"), c_log(e, t)
    assert "after-restart-forged" not in c_log(e, t)

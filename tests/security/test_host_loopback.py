"""Attacker's checklist, SECURITY.md §11: the host's loopback.

berthd sets route_localnet on its bridges (a port published on 127.0.0.1
is DNATed out of the bridge), which also lets a container hand the
gateway a frame addressed to 127.0.0.1; and DNAT runs before the routing
decision that calls 127.0.0.1 from a LAN interface a martian, so a LAN
neighbour can reach ports published on 127.0.0.1.  Both are tried here
for real: a container (default capabilities: CAP_NET_RAW) and a "LAN
neighbour" (a network namespace of this test, on a veth pair to the
host) send hand-built frames (berth-probe udp-frame) to the host's MAC,
addressed to 127.0.0.1.  Listeners on the host's loopback and a
container's port published on 127.0.0.1 must get nothing; the same
frames addressed elsewhere must arrive (so a pass is not a broken
sender), and the host itself still reaches the published port.
"""
import json
import os
import socket
import subprocess
import time

import pytest

PROBE = os.environ.get("BERTH_PROBE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tests", "berth-probe")


@pytest.fixture(scope="module")
def probe():
    if not os.path.exists(PROBE):
        pytest.skip("berth-probe is not built")
    return os.path.realpath(PROBE)


def udp_listener(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    return s, s.getsockname()[1]


def got_within(s, seconds):
    """Every datagram `s` receives within `seconds`."""
    s.settimeout(0.1)
    seen = []
    end = time.time() + seconds
    while time.time() < end:
        try:
            seen.append(s.recvfrom(2048)[0])
        except socket.timeout:
            pass
    return seen


def free_udp_port():
    s, port = udp_listener("127.0.0.1")
    s.close()
    return port


def inspect(engine, name):
    return json.loads(engine.docker("inspect", name).stdout)[0]


def run_probe(engine, name, probe, *args):
    engine.docker("run", "-d", "--name", name, "-v", f"{probe}:/probe:ro",
                  *args)
    return name


def send(engine, name, *frame):
    r = engine.docker("exec", name, "/probe", "udp-frame", "eth0", *frame)
    assert r.stdout.decode().strip() == "sent", r.stdout


def test_container_cannot_reach_host_loopback(engine, unique, probe):
    """A container sends UDP to 127.0.0.1:PORT in a frame for the
    gateway's MAC; a service on the host's 127.0.0.1 gets nothing."""
    e = engine
    name = run_probe(e, unique + "-lo", probe, e.image, "sleep", "300")
    lo, lo_port = udp_listener("127.0.0.1")
    try:
        gw = inspect(e, name)["NetworkSettings"]["Gateway"]
        with open(f"/sys/class/net/{e.bridge}/address") as f:
            gw_mac = f.read().strip()
        ctl, ctl_port = udp_listener(gw)
        try:
            # The same frame to the gateway's own address arrives: the
            # sender works, so silence below is the firewall's doing.
            send(e, name, gw_mac, "-", "-", gw, str(ctl_port), "control")
            assert got_within(ctl, 3) == [b"control"]
            # A host service that trusts loopback clients, asked with a
            # forged 127.0.0.1 source: dropped as well.
            send(e, name, gw_mac, "-", "127.0.0.1", gw, str(ctl_port),
                 "from-127")
            assert got_within(ctl, 1) == []
        finally:
            ctl.close()
        send(e, name, gw_mac, "-", "-", "127.0.0.1", str(lo_port),
             "to-host-loopback")
        assert got_within(lo, 1.5) == [], \
            "a container reached a service bound to the host's 127.0.0.1"
    finally:
        lo.close()
        e.docker("rm", "-f", name, check=False)


@pytest.fixture
def lan(unique):
    """A LAN neighbour: namespace NS with veth NSIF, peer HOSTIF on the
    host, 198.18.R.1/30 (host) and .2/30 (neighbour), nothing routed
    beyond.  The host end forwards (as a router's LAN side would), so a
    packet DNATed to a container can leave through the bridge.
    Removed whatever happens."""
    tag = os.urandom(3).hex()
    ns, hif, nif = "btlan" + tag, "btlh" + tag, "btln" + tag
    r = os.urandom(1)[0] & 63
    host_ip, ns_ip = f"198.18.{r * 4}.1", f"198.18.{r * 4}.2"

    def sh(*cmd):
        subprocess.run(cmd, check=True, capture_output=True)

    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", hif, "type", "veth", "peer", "name", nif,
           "netns", ns)
        sh("ip", "addr", "add", host_ip + "/30", "dev", hif)
        sh("ip", "link", "set", hif, "up")
        with open(f"/proc/sys/net/ipv4/conf/{hif}/forwarding", "w") as f:
            f.write("1")
        sh("ip", "-n", ns, "addr", "add", ns_ip + "/30", "dev", nif)
        sh("ip", "-n", ns, "link", "set", nif, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        with open(f"/sys/class/net/{hif}/address") as f:
            host_mac = f.read().strip()
        yield {"ns": ns, "if": nif, "host_ip": host_ip, "ns_ip": ns_ip,
               "host_mac": host_mac}
    finally:
        subprocess.run(["ip", "link", "del", hif], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def lan_send(lan, probe, *frame):
    r = subprocess.run(["ip", "netns", "exec", lan["ns"], probe, "udp-frame",
                        lan["if"], lan["host_mac"], "-", "-", *frame],
                       capture_output=True, timeout=20)
    assert r.stdout.decode().strip() == "sent", r


def test_lan_cannot_reach_loopback_published_port(engine, unique, probe, lan):
    """-p 127.0.0.1:HP:CP: the host reaches it on 127.0.0.1:HP; a LAN
    neighbour sending to 127.0.0.1:HP through the host's MAC does not,
    nor a service on the host's loopback."""
    e = engine
    hp = free_udp_port()
    name = run_probe(e, unique + "-pub", probe, "-p",
                     f"127.0.0.1:{hp}:7000/udp", e.image, "/probe", "udp-log",
                     "7000")
    lo, lo_port = udp_listener("127.0.0.1")
    ctl, ctl_port = udp_listener(lan["host_ip"])
    try:
        # The host itself: the datagram reaches the container and the
        # echo comes back.
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(0.3)
        got = b""
        end = time.time() + 10
        while time.time() < end and not got:
            c.sendto(b"from-host", ("127.0.0.1", hp))
            try:
                got = c.recvfrom(100)[0]
            except socket.timeout:
                pass
        c.close()
        assert got == b"from-host"
        # The neighbour's frames arrive when addressed to the host.
        lan_send(lan, probe, lan["host_ip"], str(ctl_port), "lan-control")
        assert got_within(ctl, 3) == [b"lan-control"]
        lan_send(lan, probe, "127.0.0.1", str(hp), "from-lan")
        lan_send(lan, probe, "127.0.0.1", str(lo_port), "lan-to-loopback")
        assert got_within(lo, 1.5) == []
        logs = e.docker("logs", name).stdout.decode()
        assert "from-host" in logs
        assert "from-lan" not in logs, \
            "a LAN neighbour reached a port published on 127.0.0.1: " + logs
    finally:
        lo.close()
        ctl.close()
        e.docker("rm", "-f", name, check=False)

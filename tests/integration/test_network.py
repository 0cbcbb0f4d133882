"""The default bridge network, through the docker CLI: what a container
sees (eth0, its address, the route, /etc/hosts), who can reach it (the
host, other containers), and that nothing stays behind.  Traffic goes only
to addresses inside the engine's own bridge network."""
import json
import os
import socket
import subprocess
import time

import pytest


def err(r):
    return r.stderr.decode(errors="replace")


def out(r):
    return r.stdout.decode(errors="replace")


def subnet_prefix(engine):
    return engine.bip.rsplit(".", 2)[0] + "."  # "10.a.b."


@pytest.fixture
def bridge_engine(engine):
    if engine.kind != "berthd":
        pytest.skip("the dockerd test engine runs with --bridge none")
    return engine


def test_container_on_the_bridge(bridge_engine, unique):
    e = bridge_engine
    r = e.docker("run", "--rm", "--name", unique + "-a", e.image, "sh", "-c",
                 "ip -o -4 addr show eth0; ip route; hostname; "
                 "tail -1 /etc/hosts")
    lines = out(r).splitlines()
    addr = lines[0].split()[3]
    assert addr.startswith(subnet_prefix(e)) and addr.endswith("/24"), lines
    gw = e.bip.split("/")[0]
    assert f"default via {gw} dev eth0" in out(r), lines
    ip = addr.split("/")[0]
    host = lines[-2]
    assert lines[-1].split() == [ip, host], lines


def test_inspect_shows_the_address(bridge_engine, unique):
    e = bridge_engine
    n = unique + "-i"
    e.docker("run", "-d", "--name", n, e.image, "sleep", "30")
    try:
        info = json.loads(out(e.docker("inspect", n)))[0]["NetworkSettings"]
        assert info["IPAddress"].startswith(subnet_prefix(e))
        assert info["Gateway"] == e.bip.split("/")[0]
        assert info["IPPrefixLen"] == 24
        assert info["Networks"]["bridge"]["IPAddress"] == info["IPAddress"]
    finally:
        e.docker("rm", "-f", n)


def _wait_tcp(ip, port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            return socket.create_connection((ip, port), timeout=1)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{ip}:{port} did not answer")


def test_host_and_containers_reach_a_container(bridge_engine, unique):
    e = bridge_engine
    n = unique + "-web"
    e.docker("run", "-d", "--name", n, e.image, "sh", "-c",
             "mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && "
             "exec httpd -f -p 8080 -h /www")
    try:
        ip = out(e.docker("inspect", "-f",
                          "{{.NetworkSettings.IPAddress}}", n)).strip()
        s = _wait_tcp(ip, 8080)
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        body = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        s.close()
        assert body.startswith(b"HTTP/1.") and b"\r\n\r\nhello-" in body, \
            body
        r = e.docker("run", "--rm", e.image, "sh", "-c",
                     f"printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | "
                     f"nc {ip} 8080 | tail -1")
        assert out(r).startswith("hello-"), out(r) + err(r)
    finally:
        e.docker("rm", "-f", n)


def test_addresses_are_unique_and_released(bridge_engine, unique):
    e = bridge_engine
    names = [f"{unique}-u{i}" for i in range(3)]
    for n in names:
        e.docker("run", "-d", "--name", n, e.image, "sleep", "30")
    ips = [out(e.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}",
                        n)).strip() for n in names]
    ids = [out(e.docker("inspect", "-f", "{{.Id}}", n)).strip()
           for n in names]
    assert len(set(ips)) == 3, ips
    e.docker("rm", "-f", *names)
    pool = os.path.join(e.data_root, "network", e.bridge + ".json")
    with open(pool) as f:
        allocated = json.load(f)["allocated"]
    assert not set(allocated.values()) & set(ids), allocated
    links = subprocess.run(["ip", "-o", "link"], capture_output=True,
                           text=True).stdout
    for i in ids:
        assert f"vb{i[:10]}" not in links, "a veth outlived its container"


def test_none_and_host_modes(bridge_engine):
    e = bridge_engine
    r = e.docker("run", "--rm", "--network", "none", e.image, "sh", "-c",
                 "ls /sys/class/net")
    assert out(r).split() == ["lo"], out(r)
    # The engine's bridge exists once the bridge network was used.
    e.docker("run", "--rm", e.image, "true")
    r = e.docker("run", "--rm", "--network", "host", e.image, "sh", "-c",
                 "ls /sys/class/net")
    assert e.bridge in out(r).split(), out(r)


def test_nat_rules_in_our_own_table(bridge_engine):
    e = bridge_engine
    e.docker("run", "--rm", e.image, "true")
    r = subprocess.run(["nft", "list", "table", "ip", "berth_" + e.bridge],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    sub = e.bip.rsplit(".", 1)[0] + ".0/24"
    assert f'ip saddr {sub} oifname != "{e.bridge}" masquerade' in r.stdout

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
    # The namespace takes its veth pair along, from the kernel's work
    # queue: gone within moments.
    end = time.time() + 5
    while True:
        links = subprocess.run(["ip", "-o", "link"], capture_output=True,
                               text=True).stdout
        left = [i for i in ids if f"vb{i[:10]}" in links]
        if not left or time.time() > end:
            break
        time.sleep(0.05)
    assert not left, "a veth outlived its container"


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


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _http_get(port, host="127.0.0.1", timeout=10):
    end = time.time() + timeout
    while True:
        try:
            s = socket.create_connection((host, port), timeout=2)
            s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
            body = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                body += chunk
            s.close()
            if body:
                return body.decode(errors="replace")
        except OSError:
            pass
        if time.time() > end:
            raise AssertionError(f"{host}:{port} did not answer")
        time.sleep(0.05)


WEB = ("sh", "-c", "mkdir -p /www && echo hello-$0 > /www/index.html && "
       "exec httpd -f -p 8080 -h /www")


def test_published_port(bridge_engine, unique):
    """-p HOST:CONTAINER answers on the host's 127.0.0.1; a second
    container asking for the same host port is refused with a message
    naming the port and its holder, and the first keeps serving; after rm
    the port is free again."""
    e = bridge_engine
    port = _free_port()
    a, b = unique + "-pa", unique + "-pb"
    e.docker("run", "-d", "--name", a, "-p", f"{port}:8080", e.image,
             *WEB[:2], WEB[2], "first")
    try:
        assert _http_get(port).endswith("hello-first\n")
        r = e.docker("run", "-d", "--name", b, "-p", f"{port}:8080", e.image,
                     *WEB[:2], WEB[2], "second", check=False)
        assert r.returncode != 0
        assert f"0.0.0.0:{port} failed: port is already allocated" in err(r)
        assert a in err(r), err(r)
        assert _http_get(port).endswith("hello-first\n")
        r = e.docker("port", a)
        assert out(r).strip() == f"8080/tcp -> 0.0.0.0:{port}", out(r)
        ps = out(e.docker("ps", "--filter", f"name={a}", "--format",
                          "{{.Ports}}"))
        assert ps.strip() == f"0.0.0.0:{port}->8080/tcp", ps
    finally:
        e.docker("rm", "-f", a)
    # Released: the other container can have it now.
    e.docker("start", b)
    try:
        assert _http_get(port).endswith("hello-second\n")
    finally:
        e.docker("rm", "-f", b)
    r = subprocess.run(["nft", "list", "chain", "ip", "berth_" + e.bridge,
                        "ports"], capture_output=True, text=True)
    assert f"dport {port}" not in r.stdout, r.stdout


def test_random_host_port(bridge_engine, unique):
    e = bridge_engine
    n = unique + "-rp"
    e.docker("run", "-d", "--name", n, "-p", "8080", e.image,
             *WEB[:2], WEB[2], "random")
    try:
        line = out(e.docker("port", n, "8080/tcp")).strip()
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        assert _http_get(port).endswith("hello-random\n")
    finally:
        e.docker("rm", "-f", n)


def test_port_held_by_another_program(bridge_engine, unique):
    """A host port some other program holds is refused cleanly."""
    e = bridge_engine
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen(1)
    port = s.getsockname()[1]
    n = unique + "-busy"
    try:
        r = e.docker("run", "-d", "--name", n, "-p", f"{port}:8080", e.image,
                     "true", check=False)
        assert r.returncode != 0
        assert f":{port} failed: port is already allocated" in err(r), err(r)
    finally:
        s.close()
        e.docker("rm", "-f", n, check=False)


def test_network_ls_and_inspect(bridge_engine, unique):
    e = bridge_engine
    names = out(e.docker("network", "ls", "--format", "{{.Name}}")).split()
    assert set(names) >= {"bridge", "host", "none"}, names
    n = unique + "-ni"
    e.docker("run", "-d", "--name", n, e.image, "sh", "-c",
             "while true; do read x; done")
    try:
        info = json.loads(out(e.docker("network", "inspect", "bridge")))[0]
        sub = e.bip.rsplit(".", 1)[0] + ".0/24"
        assert info["IPAM"]["Config"] == [{"Subnet": sub,
                                           "Gateway": e.bip.split("/")[0]}]
        assert info["Options"]["com.docker.network.bridge.name"] == e.bridge
        mine = [v for v in info["Containers"].values() if v["Name"] == n]
        assert mine and mine[0]["IPv4Address"].endswith("/24"), info
    finally:
        e.docker("rm", "-f", n)
    r = e.docker("network", "inspect", "no-such-net-" + unique, check=False)
    assert r.returncode != 0 and "not found" in err(r)


def test_publish_all(bridge_engine, unique):
    """-P publishes every exposed port on a random host port."""
    e = bridge_engine
    n = unique + "-pall"
    e.docker("run", "-d", "--name", n, "-P", "--expose", "8080", e.image,
             *WEB[:2], WEB[2], "all")
    try:
        line = out(e.docker("port", n, "8080/tcp")).strip()
        port = int(line.rsplit(":", 1)[1])
        assert _http_get(port).endswith("hello-all\n")
    finally:
        e.docker("rm", "-f", n)
    # The berth CLI's -P as well.
    r = e.cli("run", "-d", "--name", n + "b", "-P", "--expose", "8080",
              e.image, *WEB[:2], WEB[2], "cli")
    try:
        line = out(e.cli("port", n + "b", "8080/tcp")).strip()
        assert _http_get(int(line.rsplit(":", 1)[1])).endswith("hello-cli\n")
    finally:
        e.cli("rm", "-f", n + "b")


def test_predefined_networks_cannot_be_removed(bridge_engine):
    e = bridge_engine
    for n in ("bridge", "host", "none"):
        r = e.docker("network", "rm", n, check=False)
        assert r.returncode != 0 and "pre-defined network" in err(r), err(r)

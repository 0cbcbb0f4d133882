"""User networks, through the docker CLI (and the berth CLI where its
output is the point): create/ls/inspect/rm/connect/disconnect/prune,
names through the embedded DNS server, isolation between networks,
--internal, hairpin published ports, port ranges, and that nothing stays
behind.  Traffic goes only to 127.0.0.1, to a DNS server of the test's own
on a loopback address, and to addresses inside the engine's networks."""
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time

import pytest


def err(r):
    return r.stderr.decode(errors="replace")


def out(r):
    return r.stdout.decode(errors="replace")


@pytest.fixture
def e(engine):
    if engine.kind != "berthd":
        pytest.skip("the dockerd test engine runs with --bridge none")
    return engine


@pytest.fixture
def net(e, unique):
    """A user network of the test's own, removed afterwards."""
    made = []

    def make(suffix="n", *flags, k=None):
        name = f"{unique}-{suffix}"
        sub = e.subnet(len(made) if k is None else k)
        e.docker("network", "create", "--subnet", sub, *flags, name)
        made.append(name)
        return name, sub

    yield make
    for name in made:
        e.docker("network", "rm", "-f", name, check=False)


def run_d(e, name, *args):
    e.docker("run", "-d", "--name", name, *args)
    return name


def ip_on(e, ctr, network):
    return out(e.docker("inspect", "-f",
                        "{{(index .NetworkSettings.Networks \"%s\")"
                        ".IPAddress}}" % network, ctr)).strip()


def links():
    return subprocess.run(["ip", "-o", "link"], capture_output=True,
                          text=True).stdout


WEB = ("sh", "-c", "mkdir -p /www && echo hello-$0 > /www/index.html && "
       "exec httpd -f -p 8080 -h /www")


def get_in(e, ctr_or_net, url, use_net=False):
    """wget from inside a container (an existing one, or a throwaway one
    on network `ctr_or_net`); (exit code, body)."""
    # Not the last command of sh -c: sh would exec timeout as the
    # container's pid 1, and busybox's timeout runs the command in its own
    # process - a pid 1 that ignores the SIGTERM meant to end it.
    cmd = ("sh", "-c", f"timeout 5 wget -O- {url} 2>/dev/null; exit $?")
    if use_net:
        r = e.docker("run", "--rm", "--network", ctr_or_net, e.image, *cmd,
                     check=False)
    else:
        r = e.docker("exec", ctr_or_net, *cmd, check=False)
    return r.returncode, out(r)


def test_create_ls_inspect_rm(e, net, unique):
    name, sub = net("a", "--label", "team=web")
    gw = sub.rsplit(".", 1)[0] + ".1"
    ls = out(e.docker("network", "ls", "--format",
                      "{{.Name}} {{.Driver}} {{.Scope}}")).splitlines()
    assert f"{name} bridge local" in ls, ls
    info = json.loads(out(e.docker("network", "inspect", name)))[0]
    assert info["IPAM"]["Config"] == [{"Subnet": sub, "Gateway": gw}]
    assert info["Labels"] == {"team": "web"}
    assert info["Driver"] == "bridge" and not info["Internal"]
    br = "br-" + info["Id"][:12]
    assert br in links()
    # By id prefix too, and filters.
    assert json.loads(out(e.docker("network", "inspect",
                                   info["Id"][:10])))[0]["Name"] == name
    f = out(e.docker("network", "ls", "-q", "--filter", "label=team=web"))
    assert f.split() == [info["Id"][:12]], f
    f = out(e.docker("network", "ls", "--format", "{{.Name}}", "--filter",
                     "type=custom", "--filter", f"name={unique}"))
    assert f.split() == [name], f
    # Refusals, each clear: the same name, an overlapping subnet, a
    # predefined network.
    r = e.docker("network", "create", name, check=False)
    assert "network with name %s already exists" % name in err(r), err(r)
    r = e.docker("network", "create", "--subnet", sub, name + "x",
                 check=False)
    assert r.returncode != 0 and "overlaps" in err(r), err(r)
    # (docker's CLI checks this one itself; berth's leaves it to the
    # daemon.)
    r = e.cli("network", "create", "--subnet", e.subnet(5), "--gateway",
              "192.0.2.1", name + "y", check=False)
    assert r.returncode != 0 and "invalid gateway" in err(r), err(r)
    r = e.docker("network", "rm", "bridge", check=False)
    assert "pre-defined network" in err(r), err(r)
    r = e.docker("network", "create", "-d", "overlay", name + "z",
                 check=False)
    assert r.returncode != 0 and 'plugin "overlay" not found' in err(r)
    # Nothing of the refused ones was made.
    names = out(e.docker("network", "ls", "--format", "{{.Name}}")).split()
    assert not {name + "x", name + "y", name + "z"} & set(names)
    e.docker("network", "rm", name)
    assert br not in links()
    r = e.docker("network", "inspect", name, check=False)
    assert "network %s not found" % name in err(r)


def test_names_resolve_and_networks_are_isolated(e, net, unique):
    """Containers on one network reach each other by name, alias and
    short id; a container on another network can neither resolve nor
    reach them."""
    n1, _ = net("one")
    n2, _ = net("two")
    web = run_d(e, unique + "-web", "--network", n1, "--network-alias",
                "www", e.image, *WEB, "one")
    other = run_d(e, unique + "-other", "--network", n2, e.image, *WEB, "two")
    try:
        ip = ip_on(e, web, n1)
        short = out(e.docker("inspect", "-f", "{{.Id}}", web)).strip()[:12]
        for name in (web, "www", short, web.upper(), f"{web}.{n1}"):
            rc, body = get_in(e, n1, f"http://{name}:8080/index.html",
                              use_net=True)
            assert rc == 0 and body == "hello-one\n", (name, rc, body)
        r = e.docker("run", "--rm", "--network", n1, e.image, "sh", "-c",
                     f"nslookup {web} 127.0.0.11; cat /etc/resolv.conf")
        assert ip in out(r) and "nameserver 127.0.0.11" in out(r), out(r)
        # From the other network: no answer for the name (what the server
        # forwards goes to the engine's upstream, a loopback address where
        # nothing listens), no route to the address.
        oip = ip_on(e, other, n2)
        r = e.docker("exec", other, "sh", "-c",
                     f"nslookup {web} 127.0.0.11 || echo no-name",
                     check=False)
        assert "no-name" in out(r) and ip not in out(r), out(r)
        rc, body = get_in(e, other, f"http://{ip}:8080/index.html")
        assert rc != 0 and body == "", body
        rc, body = get_in(e, web, f"http://{oip}:8080/index.html")
        assert rc != 0 and body == "", body
        dns = json.loads(out(e.docker(
            "inspect", "-f", "{{json .NetworkSettings.Networks}}", web)))
        assert dns[n1]["DNSNames"] == [web, short, "www"], dns
        assert dns[n1]["Aliases"] == ["www"], dns
    finally:
        e.docker("rm", "-f", web, other)


def test_internal_network_has_no_way_out(e, net, unique):
    n, sub = net("int", "--internal")
    peer = run_d(e, unique + "-ip", "--network", n, e.image, *WEB, "in")
    try:
        r = e.docker("run", "--rm", "--network", n, e.image, "sh", "-c",
                     "ip route")
        assert "default" not in out(r), out(r)
        rc, body = get_in(e, n, f"http://{peer}:8080/index.html",
                          use_net=True)
        assert rc == 0 and body == "hello-in\n"
        # Not through the host either: the default bridge's gateway is
        # an address of the host, and the host forwards nothing for it.
        gw = e.bip.split("/")[0]
        r = e.docker("run", "--rm", "--network", n, e.image, "sh", "-c",
                     f"ping -c1 -W1 {gw} >/dev/null 2>&1; echo $?")
        assert out(r).strip() != "0", out(r)
        info = json.loads(out(e.docker("network", "inspect", n)))[0]
        assert info["Internal"] is True
    finally:
        e.docker("rm", "-f", peer)


def test_connect_and_disconnect(e, net, unique):
    n1, _ = net("c1")
    n2, _ = net("c2")
    a = run_d(e, unique + "-ca", "--network", n1, e.image, *WEB, "a")
    b = run_d(e, unique + "-cb", "--network", n2, e.image, "sleep", "60")
    try:
        rc, _ = get_in(e, b, f"http://{a}:8080/index.html")
        assert rc != 0
        e.docker("network", "connect", "--alias", "peer", n1, b)
        r = e.docker("exec", b, "sh", "-c", "ls /sys/class/net")
        assert sorted(out(r).split()) == ["eth0", "eth1", "lo"], out(r)
        rc, body = get_in(e, b, f"http://{a}:8080/index.html")
        assert rc == 0 and body == "hello-a\n"
        # The new endpoint has a name too.
        r = e.docker("exec", a, "sh", "-c", "nslookup peer 127.0.0.11")
        assert ip_on(e, b, n1) in out(r), out(r)
        nets = out(e.docker("inspect", "-f",
                            "{{range $k, $v := .NetworkSettings.Networks}}"
                            "{{$k}} {{end}}", b)).split()
        assert sorted(nets) == sorted([n1, n2]), nets
        r = e.docker("network", "connect", n1, b, check=False)
        assert r.returncode != 0 and "already exists" in err(r), err(r)
        r = e.docker("network", "rm", n1, check=False)
        assert r.returncode != 0 and "active endpoints" in err(r), err(r)
        e.docker("network", "disconnect", n1, b)
        r = e.docker("exec", b, "sh", "-c", "ls /sys/class/net")
        assert sorted(out(r).split()) == ["eth0", "lo"], out(r)
        rc, _ = get_in(e, b, f"http://{a}:8080/index.html")
        assert rc != 0
        r = e.docker("network", "disconnect", n1, b, check=False)
        assert r.returncode != 0 and "is not connected" in err(r), err(r)
        # A stopped container keeps its networks for its next start.
        e.docker("network", "connect", n1, b)
        e.docker("stop", "-t", "0", b)
        e.docker("start", b)
        rc, body = get_in(e, b, f"http://{a}:8080/index.html")
        assert rc == 0 and body == "hello-a\n"
    finally:
        e.docker("rm", "-f", a, b)


class FakeDNS:
    """A DNS server of the test's own on a loopback address: A records
    from `names`, NXDOMAIN otherwise; remembers what it was asked."""

    def __init__(self, names, v6=False):
        self.names = names
        self.asked = []
        if v6:
            self.addr = "::1"
            self.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        else:
            self.addr = "127.77.%d.%d" % (random.randint(0, 254),
                                          random.randint(1, 254))
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.addr, 53))
        self.sock.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        while not self.stop:
            try:
                msg, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.sock.sendto(self.respond(msg), peer)

    def respond(self, msg):
        i, labels = 12, []
        while msg[i]:
            labels.append(msg[i + 1:i + 1 + msg[i]].decode())
            i += 1 + msg[i]
        qtype = struct.unpack("!H", msg[i + 1:i + 3])[0]
        name = ".".join(labels).lower()
        self.asked.append(name)
        q = msg[12:i + 5]
        ip = self.names.get(name)
        if ip and qtype == 1:
            hdr = msg[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0)
            ans = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 30, 4) +
                   socket.inet_aton(ip))
            return hdr + q + ans
        rc = 0 if ip else 3
        hdr = (msg[:2] + bytes([0x81, 0x80 | rc]) +
               struct.pack("!HHHH", 1, 0, 0, 0))
        return hdr + q

    def serve_tcp(self):
        """Also over TCP (length-prefixed), one connection at a time."""
        self.tsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tsock.bind((self.addr, 53))
        self.tsock.listen(4)
        self.tsock.settimeout(0.2)

        def loop():
            while not self.stop:
                try:
                    c, _ = self.tsock.accept()
                except (socket.timeout, OSError):
                    continue
                with c:
                    c.settimeout(5)
                    try:
                        while True:
                            h = c.recv(2)
                            if len(h) < 2:
                                break
                            (n,) = struct.unpack("!H", h)
                            m = b""
                            while len(m) < n:
                                m += c.recv(n - len(m))
                            r = self.respond(m)
                            c.sendall(struct.pack("!H", len(r)) + r)
                    except OSError:
                        pass
        self.tt = threading.Thread(target=loop, daemon=True)
        self.tt.start()

    def close(self):
        self.stop = True
        self.sock.close()
        self.t.join()
        if hasattr(self, "tsock"):
            self.tt.join()
            self.tsock.close()


def test_other_names_are_forwarded(e, net, unique):
    """Names that are not containers go to the upstream servers - here
    --dns on the host's loopback, which the container could never reach
    itself: the server asks it from the host's namespace."""
    n, _ = net("fw")
    dns = FakeDNS({"upstream.example.test": "192.0.2.55"})
    try:
        r = e.docker("run", "--rm", "--network", n, "--dns", dns.addr,
                     e.image, "sh", "-c",
                     "cat /etc/resolv.conf; "
                     "nslookup upstream.example.test; "
                     "nslookup missing.example.test || echo missing-ok")
        text = out(r)
        assert "nameserver 127.0.0.11" in text, text
        assert dns.addr not in text.split("Server:")[0], text
        assert "192.0.2.55" in text and "missing-ok" in text, text
        assert "upstream.example.test" in dns.asked, dns.asked
    finally:
        dns.close()


def test_published_ports_hairpin_and_ranges(e, net, unique):
    """A published port is reachable from the host, from containers on
    other networks and from the container itself (through the host's
    address); -p with ranges maps each port, and a host range picks a
    free port of it."""
    n, _ = net("hp")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    base = s.getsockname()[1]
    s.close()
    if base > 65000:
        base = 40000 + base % 20000
    a = run_d(e, unique + "-hp", "--network", n, "-p",
              f"{base}-{base + 1}:8080-8081", e.image, "sh", "-c",
              "mkdir /w1 /w2; echo one > /w1/index.html; "
              "echo two > /w2/index.html; httpd -p 8081 -h /w2; "
              "exec httpd -f -p 8080 -h /w1")
    b = None
    try:
        ports = out(e.docker("port", a)).split("\n")
        assert f"8080/tcp -> 0.0.0.0:{base}" in ports, ports
        assert f"8081/tcp -> 0.0.0.0:{base + 1}" in ports, ports
        gw = e.bip.split("/")[0]  # an address of the host
        for who in (a, None):
            url = f"http://{gw}:{base + 1}/index.html"
            rc, body = (get_in(e, a, url) if who else
                        get_in(e, "bridge", url, use_net=True))
            assert rc == 0 and body == "two\n", (who, rc, body)
        # A host range with the first port taken: the next one.
        b = run_d(e, unique + "-hq", "-p", f"{base}-{base + 5}:8080",
                  e.image, *WEB, "b")
        line = out(e.docker("port", b, "8080/tcp")).strip()
        got = int(line.rsplit(":", 1)[1])
        assert base + 2 <= got <= base + 5, line
    finally:
        e.docker("rm", "-f", a, *([b] if b else []))


def test_nothing_stays_behind(e, unique):
    """After the containers and the network are gone: no veth, no bridge,
    no address held, no rule naming them."""
    name = unique + "-gone"
    e.docker("network", "create", "--subnet", e.subnet(9), name)
    nid = out(e.docker("network", "inspect", "-f", "{{.Id}}", name)).strip()
    ids = []
    for i in range(3):
        n = run_d(e, f"{unique}-g{i}", "--network", name, "-p", "8080",
                  e.image, "sleep", "60")
        ids.append(out(e.docker("inspect", "-f", "{{.Id}}", n)).strip())
    e.docker("network", "connect", "bridge", f"{unique}-g0")
    e.docker("rm", "-f", *[f"{unique}-g{i}" for i in range(3)])
    e.docker("network", "rm", name)
    end = time.time() + 5
    while any(f"vb{i[:10]}" in links() for i in ids) and time.time() < end:
        time.sleep(0.05)
    text = links()
    for i in ids:
        assert f"vb{i[:10]}" not in text, "a veth outlived its container"
    assert f"br-{nid[:12]}" not in text
    netdir = os.path.join(e.data_root, "network")
    assert not os.path.exists(os.path.join(netdir, f"br-{nid[:12]}.json"))
    with open(os.path.join(netdir, e.bridge + ".json")) as f:
        held = json.load(f)["allocated"]
    assert not set(held.values()) & set(ids), held
    r = subprocess.run(["nft", "list", "table", "ip", "berth_" + e.bridge],
                       capture_output=True, text=True)
    assert nid[:12] not in r.stdout and "dnat to" not in r.stdout, r.stdout


def test_networks_survive_a_daemon_restart(e, net, unique):
    n, _ = net("rs")
    a = run_d(e, unique + "-ra", "--network", n, e.image, *WEB, "ra")
    b = run_d(e, unique + "-rb", "--network", n, e.image, "sleep", "120")
    try:
        e.restart_daemon()
        assert n in out(e.docker("network", "ls", "--format",
                                 "{{.Name}}")).split()
        rc, body = get_in(e, b, f"http://{a}:8080/index.html")
        assert rc == 0 and body == "hello-ra\n", (rc, body)
        info = json.loads(out(e.docker("network", "inspect", n)))[0]
        assert sorted(v["Name"] for v in info["Containers"].values()) == \
            sorted([a, b]), info
    finally:
        e.docker("rm", "-f", a, b)


def test_prune_and_the_berth_cli(e, unique):
    """The berth CLI's network commands print what docker's do."""
    name = unique + "-cli"
    r = e.cli("network", "create", "--subnet", e.subnet(11), name)
    nid = out(r).strip()
    assert len(nid) == 64, out(r)
    ls = out(e.cli("network", "ls")).splitlines()
    assert ls[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert f"{nid[:12]}   {name}" in "\n".join(ls), ls
    info = json.loads(out(e.cli("network", "inspect", name)))[0]
    assert info["Id"] == nid
    keep = unique + "-keep"
    e.cli("network", "create", "--subnet", e.subnet(12), keep)
    c = run_d(e, unique + "-kc", "--network", keep, e.image, "sleep", "60")
    try:
        r = e.cli("network", "prune", "-f")
        assert out(r).startswith("Deleted Networks:\n"), out(r)
        assert name in out(r).split() and keep not in out(r).split()
    finally:
        e.docker("rm", "-f", c)
        e.cli("network", "rm", keep)
    r = e.cli("network", "rm", name, check=False)
    assert r.returncode != 0 and "not found" in err(r), err(r)
    assert e.cli("network", "rm", "-f", name).returncode == 0


def test_default_bridge_gets_a_reachable_resolver(e):
    """The host's only resolver is on its loopback (the engine's
    resolv.conf): a container on the default bridge could not reach it,
    so its resolv.conf names the embedded server, which forwards; with
    --dns it names what was given; on the host network the host's."""
    r = e.docker("run", "--rm", e.image, "cat", "/etc/resolv.conf")
    assert "nameserver 127.0.0.11" in out(r), out(r)
    assert "127.77.255.254" not in out(r) and "search berth.test" in out(r)
    r = e.docker("run", "--rm", "--dns", "192.0.2.53", e.image, "cat",
                 "/etc/resolv.conf")
    assert "nameserver 192.0.2.53" in out(r) and "127.0.0.11" not in out(r)
    # --dns on the host's loopback: through the embedded server, which
    # asks it from the host's namespace.
    dns = FakeDNS({"bridge.example.test": "192.0.2.77"})
    try:
        r = e.docker("run", "--rm", "--dns", dns.addr, e.image, "sh", "-c",
                     "cat /etc/resolv.conf; nslookup bridge.example.test")
        assert "nameserver 127.0.0.11" in out(r), out(r)
        assert "192.0.2.77" in out(r), out(r)
    finally:
        dns.close()
    r = e.docker("run", "--rm", "--network", "host", e.image, "cat",
                 "/etc/resolv.conf")
    assert "nameserver 127.77.255.254" in out(r), out(r)
    # Names that cannot be answered fail fast (the upstream refuses), and
    # the container gets an answer rather than a timeout.
    r = e.docker("run", "--rm", e.image, "sh", "-c",
                 "nslookup nothing.example.test 127.0.0.11; echo rc=$?",
                 timeout=30)
    assert "rc=1" in out(r), out(r)


def test_container_network_mode(e, net, unique):
    """--network container:X shares X's namespace (its address, its DNS
    server, its /etc/hosts) - also after X restarted with another pid."""
    n, _ = net("cm")
    x = run_d(e, unique + "-x", "--network", n, e.image, *WEB, "x")
    peer = run_d(e, unique + "-peer", "--network", n, e.image, *WEB, "peer")
    y = unique + "-y"
    try:
        ip = ip_on(e, x, n)
        e.docker("create", "--name", y, "--network", f"container:{x}",
                 e.image, "sleep", "60")
        e.docker("restart", "-t", "0", x)
        e.docker("start", y)
        r = e.docker("exec", y, "sh", "-c",
                     "ip -o -4 addr show eth0; cat /etc/resolv.conf")
        assert f"inet {ip_on(e, x, n)}/" in out(r), out(r)
        assert "nameserver 127.0.0.11" in out(r), out(r)
        rc, body = get_in(e, y, f"http://{peer}:8080/index.html")
        assert rc == 0 and body == "hello-peer\n", (rc, body)
        rc, body = get_in(e, y, "http://127.0.0.1:8080/index.html")
        assert rc == 0 and body == "hello-x\n", (rc, body)
        assert ip  # x's address may change with the restart; both agree
        e.docker("stop", "-t", "0", x)
        e.docker("stop", "-t", "0", y)
        r = e.docker("start", y, check=False)
        assert r.returncode != 0 and "non running container" in err(r)
    finally:
        e.docker("rm", "-f", x, y, peer, check=False)


def test_docker_py_networks(e, unique):
    docker = pytest.importorskip("docker")
    c = docker.DockerClient(base_url=e.host, version="auto")
    ipam = docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=e.subnet(13))])
    nw = c.networks.create(unique + "-py", driver="bridge", ipam=ipam,
                           labels={"via": "py"})
    web = other = None
    try:
        assert nw.attrs["IPAM"]["Config"][0]["Subnet"] == e.subnet(13)
        web = c.containers.run(e.image, list(WEB) + ["py"], detach=True,
                               name=unique + "-pyweb", network=nw.name)
        other = c.containers.run(e.image, ["sleep", "60"], detach=True,
                                 name=unique + "-pyother")
        nw.connect(other, aliases=["client"])
        nw.reload()
        names = sorted(x.name for x in nw.containers)
        assert names == sorted([web.name, other.name]), names
        code, body = other.exec_run(
            ["sh", "-c", f"timeout 5 wget -O- http://{web.name}:8080/"
                         "index.html 2>/dev/null"])
        assert code == 0 and body == b"hello-py\n", (code, body)
        nw.disconnect(other)
        assert [x.name for x in c.networks.list(names=[nw.name])] == [nw.name]
    finally:
        for x in (web, other):
            if x:
                x.remove(force=True)
        nw.remove()
    assert not c.networks.list(names=[unique + "-py"])


COMPOSE = """version: "3"
services:
  web:
    image: {image}
    command: ["sh", "-c", "mkdir -p /w && echo compose-web > /w/index.html && exec httpd -f -p 8080 -h /w"]
    networks: [back]
  client:
    image: {image}
    command: ["sleep", "120"]
    dns: [127.77.255.254]
    networks:
      back:
        aliases: [cli]
networks:
  back:
    ipam:
      config:
        - subnet: {subnet}
"""


def test_docker_compose_project(e, unique, tmp_path):
    """docker-compose makes the project's network, runs the services on
    it under their names, and removes it all with `down`."""
    import shutil as _sh
    if not _sh.which("docker-compose"):
        pytest.skip("docker-compose is not installed")
    (tmp_path / "docker-compose.yml").write_text(
        COMPOSE.format(image=e.image, subnet=e.subnet(14)))
    proj = unique.replace("-", "")
    env = e.env()
    base = ["docker-compose", "-p", proj, "-f",
            str(tmp_path / "docker-compose.yml")]

    def compose(*args, check=True):
        r = subprocess.run(base + list(args), env=env, capture_output=True,
                           timeout=120)
        if check:
            assert r.returncode == 0, err(r)
        return r

    try:
        compose("up", "-d")
        r = compose("exec", "-T", "client", "sh", "-c",
                    "timeout 5 wget -O- http://web:8080/index.html "
                    "2>/dev/null")
        assert out(r) == "compose-web\n", out(r) + err(r)
        r = compose("exec", "-T", "web", "sh", "-c",
                    "nslookup cli 127.0.0.11")
        assert "Address" in out(r).split("Name:")[-1], out(r)
        nets = out(e.docker("network", "ls", "--format", "{{.Name}}"))
        assert f"{proj}_back" in nets.split(), nets
    finally:
        compose("down", "-t", "0", check=False)
    nets = out(e.docker("network", "ls", "--format", "{{.Name}}"))
    assert f"{proj}_back" not in nets.split(), nets
    assert not out(e.docker("ps", "-aq", "--filter",
                            f"label=com.docker.compose.project={proj}"))


def test_ps_filters_network_and_publish(e, net, unique):
    n, _ = net("ps")
    a = run_d(e, unique + "-fa", "--network", n, "-p", "8080", e.image,
              "sleep", "60")
    b = run_d(e, unique + "-fb", "--expose", "9000", e.image, "sleep", "60")
    try:
        def ps(*f):
            args = [x for k in f for x in ("--filter", k)]
            return sorted(out(e.docker("ps", "--format", "{{.Names}}",
                                       *args)).split())
        assert ps(f"network={n}") == [a]
        assert unique + "-fb" in ps("network=bridge")
        assert ps("publish=8080", f"name={unique}") == [a]
        assert ps("publish=8000-8100/tcp", f"name={unique}") == [a]
        assert ps("publish=8080/udp", f"name={unique}") == []
        assert ps("expose=9000", f"name={unique}") == [b]
        nets = out(e.docker("ps", "--format", "{{.Networks}}", "--filter",
                            f"name={a}")).strip()
        assert nets == n, nets
    finally:
        e.docker("rm", "-f", a, b)


def test_dns_server_survives_garbage(e, net, unique):
    """Whatever a container sends the DNS server - noise, truncated
    queries, responses, a flood - it keeps answering and the daemon keeps
    serving."""
    n, _ = net("junk")
    a = run_d(e, unique + "-ja", "--network", n, e.image, "sleep", "60")
    try:
        script = (
            "for i in $(seq 1 200); do "
            "head -c $((i % 90 + 1)) /dev/urandom | nc -u -w0 127.0.0.11 53;"
            " done; "
            # a header claiming one question, cut short; and a response
            "printf '\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00"
            "\\x00\\x00\\x05ab' | nc -u -w0 127.0.0.11 53; "
            "printf '\\x12\\x34\\x81\\x80\\x00\\x01\\x00\\x00\\x00\\x00"
            "\\x00\\x00\\x00\\x00\\x01\\x00\\x01' | nc -u -w0 127.0.0.11 53; "
            f"nslookup {a} 127.0.0.11")
        r = e.docker("run", "--rm", "--network", n, e.image, "sh", "-c",
                     script, timeout=120)
        assert ip_on(e, a, n) in out(r), out(r) + err(r)
        assert e.docker("version").returncode == 0
    finally:
        e.docker("rm", "-f", a)


def test_crash_leaves_nothing(e, net, unique):
    """A container that ends while the daemon is down (kill -9): at the
    next start its address, port and rules are released."""
    import signal as _sig
    n, _ = net("crash")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    a = run_d(e, unique + "-cr", "--network", n, "-p", f"{port}:8080",
              e.image, "sleep", "300")
    cid = out(e.docker("inspect", "-f", "{{.Id}}", a)).strip()
    pid = int(out(e.docker("inspect", "-f", "{{.State.Pid}}", a)).strip())
    try:
        e.stop_daemon(sig=_sig.SIGKILL)
        os.kill(pid, _sig.SIGKILL)
        time.sleep(0.5)
        e.start()
        st = out(e.docker("inspect", "-f", "{{.State.Status}}", a)).strip()
        assert st == "exited", st
        info = json.loads(out(e.docker("network", "inspect", n)))[0]
        pool = os.path.join(e.data_root, "network",
                            "br-" + info["Id"][:12] + ".json")
        with open(pool) as f:
            assert cid not in json.load(f)["allocated"].values()
        r = subprocess.run(["nft", "list", "chain", "ip", "berth_" + e.bridge,
                            "ports"], capture_output=True, text=True)
        assert f"dport {port}" not in r.stdout, r.stdout
        # The port is free again: another container takes it.
        b = run_d(e, unique + "-cr2", "-p", f"{port}:8080", e.image,
                  "sleep", "30")
        e.docker("rm", "-f", b)
    finally:
        e.docker("rm", "-f", a, check=False)


def test_udp_published_port(e, net, unique):
    """A UDP port published on 127.0.0.1: the datagram reaches the
    container and its answer comes back (berth-probe echoes)."""
    probe = os.environ.get("BERTH_PROBE") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "tests",
        "berth-probe")
    if not os.path.exists(probe):
        pytest.skip("berth-probe is not built")
    n, _ = net("udp")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    a = run_d(e, unique + "-udp", "--network", n, "-p",
              f"127.0.0.1:{port}:5000/udp", "-v",
              f"{os.path.realpath(probe)}:/probe:ro", e.image,
              "/probe", "udp-echo", "5000")
    try:
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(0.3)
        got = b""
        deadline = time.time() + 10
        while time.time() < deadline and not got:
            c.sendto(b"ping-udp", ("127.0.0.1", port))
            try:
                got, _ = c.recvfrom(100)
            except socket.timeout:
                pass
        c.close()
        assert got == b"ping-udp", got
        assert out(e.docker("port", a)).strip() == \
            f"5000/udp -> 127.0.0.1:{port}"
    finally:
        e.docker("rm", "-f", a)


def test_internal_network_cannot_use_published_ports(e, net, unique):
    """Not even through its own gateway address: an internal network has
    no way out, published ports of other networks included."""
    n, sub = net("intp", "--internal")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    web = run_d(e, unique + "-ipw", "-p", f"{port}:8080", e.image, *WEB,
                "out")
    try:
        gw = sub.rsplit(".", 1)[0] + ".1"
        rc, body = get_in(e, n, f"http://{gw}:{port}/index.html",
                          use_net=True)
        assert rc != 0 and body == "", (rc, body)
        # From the default bridge the same port answers.
        rc, body = get_in(e, "bridge", f"http://{e.bip.split('/')[0]}:"
                          f"{port}/index.html", use_net=True)
        assert rc == 0 and body == "hello-out\n", (rc, body)
    finally:
        e.docker("rm", "-f", web)


def test_bridge_names_are_checked(e, unique):
    for bad in ("/tmp/x" + unique, "br%d", 'a"b', "x" * 16):
        r = e.docker("network", "create", "-o",
                     f"com.docker.network.bridge.name={bad}", unique + "-bn",
                     check=False)
        assert r.returncode != 0 and "invalid bridge name" in err(r), err(r)
    assert not os.path.exists(f"/tmp/x{unique}.json")
    name = unique[-8:] + "br"
    e.docker("network", "create", "--subnet", e.subnet(15), "-o",
             f"com.docker.network.bridge.name={name}", unique + "-bn")
    try:
        assert name in links()
    finally:
        e.docker("network", "rm", unique + "-bn")
    assert name not in links()


def test_add_host_gateway(e, unique):
    r = e.docker("run", "--rm", "--add-host", "host.docker.internal:"
                 "host-gateway", e.image, "grep", "host.docker.internal",
                 "/etc/hosts")
    assert out(r).split() == [e.bip.split("/")[0], "host.docker.internal"]


def test_connect_moves_names_ports_and_gateway(e, net, unique):
    """A default-bridge container that joins a user network resolves its
    peers from then on; disconnecting the network that held its ports and
    default route moves both to the one left."""
    n, sub = net("mv")
    peer = run_d(e, unique + "-mp", "--network", n, e.image, *WEB, "peer")
    a = run_d(e, unique + "-ma", "-p", "8080", e.image, *WEB, "a")
    try:
        e.docker("network", "connect", n, a)
        r = e.docker("exec", a, "cat", "/etc/resolv.conf")
        assert "nameserver 127.0.0.11" in out(r), out(r)
        rc, body = get_in(e, a, f"http://{peer}:8080/index.html")
        assert rc == 0 and body == "hello-peer\n", (rc, body)
        port = int(out(e.docker("port", a, "8080/tcp")).split(":")[-1])
        e.docker("network", "disconnect", "bridge", a)
        r = e.docker("exec", a, "ip", "route")
        gw = sub.rsplit(".", 1)[0] + ".1"
        assert f"default via {gw}" in out(r), out(r)
        rules = subprocess.run(["nft", "list", "chain", "ip",
                                "berth_" + e.bridge, "ports"],
                               capture_output=True, text=True).stdout
        assert f"dnat to {ip_on(e, a, n)}:8080" in rules, rules
        deadline = time.time() + 5
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), 2) as c:
                    c.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                    if b"hello-a" in c.recv(4096):
                        break
            except OSError:
                pass
            assert time.time() < deadline, "the port did not follow"
            time.sleep(0.1)
    finally:
        e.docker("rm", "-f", a, peer)


def test_ipv6_upstream(e, net, unique):
    """An upstream on the host's IPv6 loopback is asked too."""
    n, _ = net("v6")
    try:
        dns = FakeDNS({"six.example.test": "192.0.2.66"}, v6=True)
    except OSError as ex:
        pytest.skip(f"cannot serve DNS on [::1]:53 here: {ex}")
    try:
        r = e.docker("run", "--rm", "--network", n, "--dns", "::1", e.image,
                     "sh", "-c", "nslookup six.example.test")
        assert "192.0.2.66" in out(r), out(r)
        assert "six.example.test" in dns.asked
    finally:
        dns.close()


TCP_CLIENT = r"""
import socket, struct, sys
def q(name, qid):
    b = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in name.split("."):
        b += bytes([len(l)]) + l.encode()
    return b + b"\0" + struct.pack("!HH", 1, 1)
s = socket.create_connection(("127.0.0.11", 53), timeout=10)
names = sys.argv[1:]
# All the queries at once, as glibc sends A and AAAA on one connection.
s.sendall(b"".join(struct.pack("!H", len(m)) + m
                   for m in (q(n, 100 + i) for i, n in enumerate(names))))
for i, n in enumerate(names):
    h = b""
    while len(h) < 2:
        h += s.recv(2 - len(h))
    (ln,) = struct.unpack("!H", h)
    m = b""
    while len(m) < ln:
        m += s.recv(ln - len(m))
    qid, flags, _, an = struct.unpack("!HHHH", m[:8])
    ip = socket.inet_ntoa(m[-4:]) if an else "-"
    print(n, qid, flags & 15, ip)
"""


def test_dns_over_tcp(e, net, unique):
    """Over TCP too (what a client retries when a UDP answer came back
    truncated): queries sent at once are answered in order, local names
    from memory, others forwarded over TCP."""
    n, _ = net("tcp")
    dns = FakeDNS({"tcp.example.test": "192.0.2.88"})
    dns.serve_tcp()
    a = run_d(e, unique + "-ta", "--network", n, "--dns", dns.addr,
              e.image, "sleep", "60")
    try:
        pid = out(e.docker("inspect", "-f", "{{.State.Pid}}", a)).strip()
        r = subprocess.run(["nsenter", "-t", pid, "-n", "/usr/bin/python3",
                            "-c", TCP_CLIENT, a, "tcp.example.test",
                            "nothere.example.test"],
                           capture_output=True, text=True, timeout=30)
        lines = r.stdout.splitlines()
        assert lines == [f"{a} 100 0 {ip_on(e, a, n)}",
                         "tcp.example.test 101 0 192.0.2.88",
                         "nothere.example.test 102 3 -"], \
            r.stdout + r.stderr
    finally:
        e.docker("rm", "-f", a)
        dns.close()

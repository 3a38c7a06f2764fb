"""--network bridge (netns/netns.h): a bridge, a veth per container, addresses
from a locked store under --root, cleaned up by delete and delete --force.

Every husk command here runs inside a network namespace the test makes to
play the host (held by an fd of the test runner, entered with nsenter), so
the bridge, the veths and every address live in namespaces the tests made
and vanish with them; the machine's own namespace is never touched.  Each
test has its own --root, so its address store is its own too.
"""
import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import time

import pytest

from helpers.bundle import Bundle, cgroups_path
from helpers.leaks import LeakChecker
from helpers.runtime import Runtime

pytestmark = pytest.mark.husk_only   # runc has no --network

N_PARALLEL = 50
N_TIMING = 50
ECHO_SERVER = "#!/bin/sh\nread line\necho \"echo:$line\"\n"


class HostNetns:
    """A fresh network namespace that plays the host for one test."""

    def __init__(self):
        holder = subprocess.Popen(["unshare", "--net", "sh", "-c", "echo up; exec sleep 60"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "up"
            self.fd = os.open("/proc/%d/ns/net" % holder.pid, os.O_RDONLY | os.O_CLOEXEC)
        finally:
            holder.kill()
            holder.wait()
            holder.stdout.close()
        assert os.readlink("/proc/self/fd/%d" % self.fd) != os.readlink("/proc/self/ns/net")
        self.path = "/proc/%d/fd/%d" % (os.getpid(), self.fd)

    def prefix(self):
        return ["nsenter", "--net=" + self.path]

    def run(self, *argv, check=True):
        r = subprocess.run(self.prefix() + list(argv), capture_output=True, text=True,
                           timeout=30)
        if check:
            assert r.returncode == 0, "%s: %s" % (argv, r.stderr)
        return r

    def links(self):
        return {l["ifname"]: l for l in json.loads(self.run("ip", "-j", "-d", "link", "show").stdout)}

    def veths(self):
        return sorted(n for n, l in self.links().items() if n.startswith("vh"))

    def close(self):
        os.close(self.fd)   # the namespace, and all in it, goes with the last holder


class NsRuntime(Runtime):
    """The runtime helper with every command run inside the test's host."""

    def __init__(self, host, *args, **kw):
        super().__init__(*args, **kw)
        self.host = host

    def argv(self, *args, **kw):
        return self.host.prefix() + super().argv(*args, **kw)


class Net:
    def __init__(self, host, rt, root, make_bundle):
        self.host, self.rt, self.root = host, rt, root
        self._make_bundle = make_bundle

    def bundle(self, args):
        """A busybox bundle with ping, nc and an echo server, allowed raw sockets."""
        b = self._make_bundle(args)
        for applet in ("ping", "nc"):
            os.symlink("busybox", os.path.join(b.rootfs, "bin", applet))
        path = os.path.join(b.rootfs, "bin", "echo-once")
        with open(path, "w") as f:
            f.write(ECHO_SERVER)
        os.chmod(path, 0o755)
        for kind in ("bounding", "effective", "permitted"):
            b.process["capabilities"][kind].append("CAP_NET_RAW")
        return b.save()

    def network(self, cid):
        st = self.rt.state_json(cid)
        return {k.split(".")[-1]: v for k, v in st.get("annotations", {}).items()
                if k.startswith("io.husk.network.")}

    def wait_veths(self, want, timeout=3.0):
        """The host's veths once they settle on want: a container's pair
        goes with its namespace, which the kernel tears down a moment after
        its last process (husk only deletes it when the namespace lives on)."""
        deadline = time.monotonic() + timeout
        while self.host.veths() != want and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.host.veths()

    def store(self, bridge="husk0"):
        """Addresses held in the store: {address: owner id}."""
        d = os.path.join(self.root, ".net@" + bridge)
        if not os.path.isdir(d):
            return {}
        out = {}
        for name in os.listdir(d):
            if name[0].isdigit() or ":" in name:
                with open(os.path.join(d, name)) as f:
                    out[name] = f.read().strip()
        return out


@pytest.fixture
def net(session, tmpdir_s, husk_bin, bundle):
    host = HostNetns()
    root = os.path.join(tmpdir_s, "state")
    os.makedirs(root, mode=0o700)
    rt = NsRuntime(host, husk_bin, root, session.logs)
    leaks = LeakChecker(session.dir, root, husk_bin)
    before = leaks.snapshot()
    n = Net(host, rt, root, bundle)
    try:
        yield n
        rt.cleanup()
        # The address stores may stay (inside the test's own --root); nothing
        # else may, and no address may still be held.
        stores = {e for e in os.listdir(root) if e.startswith(".net@")}
        for s in stores:
            assert n.store(s[len(".net@"):]) == {}, "addresses still held in %s" % s
        before["state"] |= stores
        leaks.assert_clean(before, what="the network test")
        assert n.wait_veths([]) == [], "veths left on the host"
    finally:
        rt.cleanup()
        host.close()


def ipv4(ann):
    return ann["ipv4"].split("/")[0]


# ---------------------------------------------------------------------------
def test_two_containers_talk(net):
    server = net.bundle(["echo-once"]).set_args("nc", "-ll", "-p", "7777", "-e", "/bin/echo-once")
    client = net.bundle(["sleep", "1000"])
    for b in (server, client):
        r = net.rt.run(b, "--network", "bridge", detach=True)
        assert r.returncode == 0, r.stderr
    s, c = net.network(server.id), net.network(client.id)
    assert s["bridge"] == c["bridge"] == "husk0"
    assert s["ipv4"].endswith("/16") and s["ipv4"].startswith("10.88.")
    assert ipv4(s) != ipv4(c)
    assert s["mac"] == "0a:58:%02x:%02x:%02x:%02x" % tuple(int(x) for x in ipv4(s).split("."))

    r = net.rt.exec(client.id, "ping", "-c", "1", "-W", "3", ipv4(s))
    assert r.returncode == 0, r.stdout + r.stderr
    r = net.rt.exec(client.id, "sh", "-c", "echo hello-husk | nc -w 3 %s 7777" % ipv4(s))
    assert r.returncode == 0 and "echo:hello-husk" in r.stdout, r.stdout + r.stderr

    # the container's view: eth0 with its address and MTU, a default route
    r = net.rt.exec(client.id, "ip", "-o", "addr", "show", "eth0")
    assert c["ipv4"] in r.stdout and "mtu" not in r.stderr
    r = net.rt.exec(client.id, "ip", "route")
    assert "default via 10.88.0.1 dev eth0" in r.stdout
    r = net.rt.exec(client.id, "cat", "/sys/class/net/eth0/mtu", "/sys/class/net/lo/operstate")
    assert r.stdout.split()[0] == "1500"
    # and the host reaches it through the bridge
    net.host.run("/bin/busybox", "ping", "-c", "1", "-W", "3", ipv4(c))
    links = net.host.links()
    assert links["husk0"]["linkinfo"]["info_kind"] == "bridge"
    assert [l["master"] for l in links.values() if l["ifname"].startswith("vh")] == ["husk0"] * 2
    assert set(net.store().values()) == {server.id, client.id}


def test_ipv6_and_options(net):
    b = net.bundle(["sleep", "1000"])
    r = net.rt.run(b, "--network", "bridge=hk6,subnet=10.77.0.0/24,subnet=fd00:77::/64,mtu=1400",
                   detach=True)
    assert r.returncode == 0, r.stderr
    ann = net.network(b.id)
    assert ann["ipv4"] == "10.77.0.2/24" and ann["ipv6"] == "fd00:77::2/64"
    r = net.rt.exec(b.id, "ping", "-c", "1", "-W", "3", "fd00:77::1")
    assert r.returncode == 0, r.stdout + r.stderr
    r = net.rt.exec(b.id, "ip", "-6", "route")
    assert "default via fd00:77::1 dev eth0" in r.stdout
    assert net.rt.exec(b.id, "cat", "/sys/class/net/eth0/mtu").stdout.strip() == "1400"
    assert net.host.links()["hk6"]["mtu"] == 1400


def test_annotation_selects_and_flag_overrides(net):
    b = net.bundle(["sleep", "1000"])
    b.config["annotations"] = {"io.husk.network": "bridge=hk-ann"}
    assert net.rt.run(b, detach=True).returncode == 0
    assert net.network(b.id)["bridge"] == "hk-ann"
    # --network none: what the spec says, nothing more (only lo inside)
    b2 = net.bundle(["sleep", "1000"])
    b2.config["annotations"] = {"io.husk.network": "bridge=hk-ann"}
    assert net.rt.run(b2, "--network", "none", detach=True).returncode == 0
    assert net.network(b2.id) == {}
    r = net.rt.exec(b2.id, "ls", "/sys/class/net")
    assert r.stdout.split() == ["lo"]


def test_without_network_nothing_changes(net):
    b = net.bundle(["sleep", "1000"])
    assert net.rt.run(b, detach=True).returncode == 0
    assert net.rt.exec(b.id, "ls", "/sys/class/net").stdout.split() == ["lo"]
    assert set(net.host.links()) == {"lo"}
    assert [e for e in os.listdir(net.root) if e.startswith(".")] == []


def test_delete_returns_address_and_veth(net):
    b = net.bundle(["sleep", "1000"])
    assert net.rt.create(b, "--network", "bridge").returncode == 0
    addr = ipv4(net.network(b.id))
    assert net.store() == {addr: b.id}
    assert len(net.host.veths()) == 1
    r = net.rt.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert net.store() == {} and net.wait_veths([]) == []
    assert net.host.links()["husk0"]["linkinfo"]["info_kind"] == "bridge"   # the bridge stays


def test_delete_removes_the_veth_of_a_pinned_namespace(net, tmpdir_s):
    """Something else holds the container's namespace (here a bind mount, as
    `ip netns attach` makes): delete must remove the veth itself."""
    b = net.bundle(["sleep", "1000"])
    assert net.rt.create(b, "--network", "bridge").returncode == 0
    pin = os.path.join(tmpdir_s, "pinned-netns")
    open(pin, "w").close()
    pid = net.rt.state_json(b.id)["pid"]
    subprocess.run(["mount", "--bind", "/proc/%d/ns/net" % pid, pin], check=True, timeout=10)
    try:
        assert net.rt.delete(b.id, force=True).returncode == 0
        assert net.host.veths() == [] and net.store() == {}
    finally:
        subprocess.run(["umount", pin], check=True, timeout=10)


def _parallel_bundles(net, n):
    """n bundles over one read-only rootfs, each with its own id and cgroup."""
    first = net.bundle(["sleep", "1000"])
    out = [first]
    for i in range(1, n):
        cid = "%s-p%d" % (first.id, i)
        path = os.path.join(os.path.dirname(first.path), cid)
        os.makedirs(path)
        b = Bundle(path, cid)
        b.config = json.loads(json.dumps(first.config))
        b.config["root"]["path"] = first.rootfs
        b.config["linux"]["cgroupsPath"] = cgroups_path(cid)
        out.append(b.save())
    return out


def test_parallel_creates_get_distinct_addresses(net):
    bundles = _parallel_bundles(net, N_PARALLEL)
    with concurrent.futures.ThreadPoolExecutor(N_PARALLEL) as pool:
        results = list(pool.map(lambda b: net.rt.create(b, "--network", "bridge", save=False),
                                bundles))
    failed = [(b.id, r.stderr) for b, r in zip(bundles, results) if r.returncode]
    assert not failed, failed[:3]
    addrs = [ipv4(net.network(b.id)) for b in bundles]
    assert len(set(addrs)) == N_PARALLEL, sorted(addrs)
    assert net.store() == {a: b.id for a, b in zip(addrs, bundles)}
    assert len(net.host.veths()) == N_PARALLEL
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda b: net.rt.delete(b.id, force=True), bundles))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results if r.returncode]
    assert net.store() == {} and net.wait_veths([]) == []


def test_crash_mid_create_is_cleaned_by_delete_force(net, tmpdir_s):
    marker = os.path.join(tmpdir_s, "hook-running")
    b = net.bundle(["sleep", "1000"])
    b.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "touch %s; exec sleep 60" % marker]}]}
    b.save()
    argv = net.rt.argv("create", "--bundle", b.path, "--network", "bridge", b.id)
    net.rt.track(b.id)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(marker) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert os.path.exists(marker), "the createRuntime hook never ran"
        assert len(net.host.veths()) == 1 and len(net.store()) == 1
        os.kill(p.pid, signal.SIGKILL)      # husk create dies with the veth made
        p.wait()
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # the hook's sleep, orphaned
        except ProcessLookupError:
            pass
    assert os.path.isdir(os.path.join(net.root, b.id))
    r = net.rt.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(net.root, b.id))
    assert net.store() == {} and net.wait_veths([]) == []


# ------------------------------------------------------------ bad input --
def _assert_refused(net, b, flag, message):
    """create fails with message and leaves no state, veth or address."""
    veths, stores = net.host.veths(), {e: net.store(e[5:]) for e in os.listdir(net.root)
                                       if e.startswith(".net@")}
    r = net.rt.create(b, "--network", flag)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(net.root, b.id))
    assert net.wait_veths(veths) == veths
    assert {e: net.store(e[5:]) for e in os.listdir(net.root) if e.startswith(".net@")} == stores


def test_bad_subnet(net):
    b = net.bundle(["true"])
    _assert_refused(net, b, "bridge,subnet=10.0.0.0/33",
                    '--network: subnet "10.0.0.0/33": the prefix length must be 1-30 for IPv4')
    _assert_refused(net, b, "bridge=a/b", '--network: bridge name "a/b"')
    _assert_refused(net, b, "bridged", '--network: "bridged": expected none or bridge')
    assert os.listdir(net.root) == [] and set(net.host.links()) == {"lo"}


def test_exhausted_pool(net):
    first, second = net.bundle(["sleep", "1000"]), net.bundle(["sleep", "1000"])
    flag = "bridge=hk-small,subnet=10.99.0.0/30"   # one address besides the gateway
    assert net.rt.create(first, "--network", flag).returncode == 0
    assert ipv4(net.network(first.id)) == "10.99.0.2"
    _assert_refused(net, second, flag, "--network: subnet 10.99.0.1/30 of bridge hk-small: "
                    "no free address left (1 in use)")
    # and another subnet for the same bridge is refused, naming the one it has
    _assert_refused(net, second, "bridge=hk-small,subnet=10.98.0.0/24",
                    "bridge hk-small already serves 10.99.0.1/30")
    assert net.store("hk-small") == {"10.99.0.2": first.id}
    assert net.rt.delete(first.id, force=True).returncode == 0
    assert net.rt.create(second, "--network", flag).returncode == 0


def test_bridge_name_taken_by_a_non_bridge(net):
    net.host.run("ip", "link", "add", "hk-taken", "type", "veth", "peer", "name", "hk-taken-p")
    b = net.bundle(["true"])
    _assert_refused(net, b, "bridge=hk-taken",
                    '--network: bridge "hk-taken": that name is taken by a veth interface, '
                    'not a bridge')
    assert not os.path.exists(os.path.join(net.root, ".net@hk-taken"))
    net.host.run("ip", "link", "del", "hk-taken")


def test_failed_bridge_setup_leaves_nothing(net):
    """A bridge husk made is removed again when setting it up fails (here its
    IPv6 address: IPv6 is off in this host), and so is the new store."""
    net.host.run("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1")
    b = net.bundle(["true"])
    _assert_refused(net, b, "bridge=hk-v6,subnet=fd00:66::/64",
                    '--network: bridge "hk-v6": address and bring up')
    assert "hk-v6" not in net.host.links()
    assert os.listdir(net.root) == []


def test_bridge_of_another_root_is_refused(net, tmpdir_s):
    b = net.bundle(["sleep", "1000"])
    assert net.rt.create(b, "--network", "bridge").returncode == 0
    other = NsRuntime(net.host, net.rt.binary, os.path.join(tmpdir_s, "other-root"), net.rt.logdir)
    b2 = net.bundle(["true"])
    r = other.create(b2, "--network", "bridge")
    assert r.returncode != 0 and 'bridge "husk0" belongs to `husk --root %s`' % net.root in r.stderr
    assert os.listdir(other.root) == []
    shutil.rmtree(other.root)


def test_needs_a_new_network_namespace(net):
    b = net.bundle(["true"])
    b.remove_namespace("network")
    _assert_refused(net, b, "bridge", "--network: the container needs a new network namespace")
    b.add_namespace("network", "/proc/self/ns/net")
    _assert_refused(net, b, "bridge", "network namespace path to join")


# -------------------------------------------------------------- the cost --
def test_cost_of_networking(net):
    """Median wall time of `run` /bin/true with and without --network,
    interleaved, in the same host namespace."""
    b = net.bundle(["true"])
    base = b.id
    times = {"plain": [], "bridge": []}
    for i in range(N_TIMING):
        for kind in ("plain", "bridge"):
            b.use_id("%s-%s-%d" % (base, kind, i))
            extra = ["--network", "bridge"] if kind == "bridge" else []
            t0 = time.monotonic()
            r = net.rt.run(b, *extra)
            times[kind].append(time.monotonic() - t0)
            assert r.returncode == 0, r.stderr
    plain, bridged = (statistics.median(times[k]) * 1000 for k in ("plain", "bridge"))
    report = ("networking cost: median of %d runs: %.1f ms without --network, %.1f ms with "
              "(+%.1f ms)" % (N_TIMING, plain, bridged, bridged - plain))
    print("\n" + report)
    assert net.store() == {} and net.wait_veths([]) == []

"""--network bridge in micro-VM mode (netns/netns.h, vm/proto.h): the same
address store and bridge as a plain container, a tap device on the bridge in
place of the veth, virtio-net in the guest configured by the agent.

As in test_network.py, every husk command runs inside a network namespace
the test makes to play the host (the `net` fixture), so the bridge, the
taps and the addresses vanish with it. Under TCG every VM costs seconds:
two VMs in all.
"""
import os
import signal
import time

import pytest

from helpers.util import pid_gone, wait_for
from test_network import ipv4, net  # noqa: F401  (the fixture)
# vm_cache: the autouse kernel/initramfs cache fixture, shared with test_vm.py
# (the net initramfs is its own entry in it)
from test_vm import STOP_TIMEOUT, VM_TIMEOUT, _skip_reason, qemu_pid, vm_cache  # noqa: F401

pytestmark = [pytest.mark.husk_only,
              pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")]

SUBNETS = "subnet=10.89.0.0/24,subnet=fd00:89::/64"


def taps(net):
    return sorted(n for n, l in net.host.links().items()
                  if l.get("linkinfo", {}).get("info_kind") == "tun")


def wait_taps(net, want):
    """A tap goes with QEMU's fd, a moment after QEMU itself."""
    deadline = time.monotonic() + 10
    while taps(net) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return taps(net)


def vm_exec(net, cid, *argv):
    return net.rt.exec(cid, *argv, timeout=VM_TIMEOUT)


def test_vm_on_the_bridge_with_a_container(net):
    """The VM gets its address, MAC and MTU on eth0 and default routes; it
    reaches the gateway (v4 and v6) and a plain container on the same
    bridge, and that one reaches it; a killed QEMU leaves no tap, and
    delete returns the address."""
    plain = net.bundle(["sleep", "1000"])
    vm = net.bundle(["sleep", "1000"])
    r = net.rt.run(plain, "--network", "bridge," + SUBNETS, detach=True)
    assert r.returncode == 0, r.stderr
    r = net.rt.run(vm, "--vm", "--network", "bridge", detach=True, timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    ann, peer = net.network(vm.id), net.network(plain.id)
    assert ann["bridge"] == "husk0"
    assert ann["ipv4"].startswith("10.89.0.") and ann["ipv4"].endswith("/24")
    assert ann["ipv6"].startswith("fd00:89::") and ipv4(ann) != ipv4(peer)
    assert net.store() == {ipv4(ann): vm.id, ipv4(peer): plain.id,
                           ann["ipv6"].split("/")[0]: vm.id, peer["ipv6"].split("/")[0]: plain.id}
    (tap,) = taps(net)
    assert tap.startswith("tp")
    link = net.host.links()[tap]
    assert link["master"] == "husk0" and "UP" in link["flags"]
    assert net.host.veths() != [] and tap not in net.host.veths()

    # the guest's view
    r = vm_exec(net, vm.id, "cat", "/sys/class/net/eth0/address", "/sys/class/net/eth0/mtu",
                "/sys/class/net/lo/flags")
    assert r.returncode == 0, r.stderr
    mac, mtu, lo_flags = r.stdout.split()
    assert mac == ann["mac"] and mtu == "1500" and int(lo_flags, 16) & 1
    r = vm_exec(net, vm.id, "ip", "-o", "addr", "show", "eth0")
    assert ann["ipv4"] in r.stdout and ann["ipv6"] in r.stdout, r.stdout
    r = vm_exec(net, vm.id, "ip", "route")
    assert "default via 10.89.0.1 dev eth0" in r.stdout, r.stdout
    assert os.uname().release not in vm_exec(net, vm.id, "uname", "-r").stdout

    # the gateway, the container, and back
    for target in ("10.89.0.1", ipv4(peer), "fd00:89::1"):
        r = vm_exec(net, vm.id, "ping", "-c", "1", "-W", "5", target)
        assert r.returncode == 0, "%s: %s%s" % (target, r.stdout, r.stderr)
    r = net.rt.exec(plain.id, "ping", "-c", "1", "-W", "5", ipv4(ann))
    assert r.returncode == 0, r.stdout + r.stderr

    # QEMU killed: its tap goes with it, the container stops
    qemu = qemu_pid(net.rt.state_json(vm.id)["pid"])
    os.kill(qemu, signal.SIGKILL)
    net.rt.wait_status(vm.id, "stopped", timeout=STOP_TIMEOUT)
    assert wait_for(lambda: pid_gone(qemu), timeout=30)
    assert wait_taps(net, []) == []
    assert ipv4(ann) in net.store()        # held until delete
    r = net.rt.delete(vm.id)
    assert r.returncode == 0, r.stderr
    assert set(net.store().values()) == {plain.id}


def test_annotation_selects_and_delete_force_releases(net):
    """io.husk.network selects it for a VM too; a failed create and delete
    --force of a running VM leave neither tap nor address."""
    vm = net.bundle(["sleep", "1000"])
    vm.config["annotations"] = {"io.husk.network": "bridge=hkvm,mtu=1400"}
    # a create that fails after the tap was made leaves neither behind
    r = net.rt.create(vm, "--vm", "--vm-kernel", "/nonexistent/vmlinuz", timeout=VM_TIMEOUT)
    assert r.returncode != 0 and "/nonexistent/vmlinuz" in r.stderr
    assert net.store("hkvm") == {} and taps(net) == []
    assert net.rt.state(vm.id).returncode != 0
    r = net.rt.create(vm, "--vm", timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    ann = net.network(vm.id)
    assert ann["bridge"] == "hkvm" and ann["ipv4"] == "10.88.0.3/16"   # round robin
    assert net.store("hkvm") == {"10.88.0.3": vm.id}
    (tap,) = taps(net)
    assert net.host.links()[tap]["mtu"] == 1400
    qemu = qemu_pid(net.rt.state_json(vm.id)["pid"])
    assert net.rt.start(vm.id, timeout=VM_TIMEOUT).returncode == 0
    r = vm_exec(net, vm.id, "cat", "/sys/class/net/eth0/mtu")
    assert r.stdout.strip() == "1400", r.stdout + r.stderr
    r = net.rt.delete(vm.id, force=True, timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert net.store("hkvm") == {}
    assert wait_taps(net, []) == []
    assert wait_for(lambda: pid_gone(qemu), timeout=30)

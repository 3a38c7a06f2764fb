"""Micro-VM mode (vm/vm.h): the same bundle under QEMU's microvm machine,
with its own kernel, behind the same command line.

Here QEMU runs under TCG, so every VM costs seconds: the tests are few,
each boots as few VMs as it can, every runtime call is bounded, and a
VM left behind is found by the leak checker (QEMU's command line names the
session's temp dir) and removed by PID through `delete --force`.
"""
import glob
import json
import os
import shutil
import signal

import pytest

from helpers.binary import HUSK_BIN, IS_RUNC
from helpers.console import ConsoleReceiver
from helpers.util import cgroup_procs, pid_gone, wait_for

VM_TIMEOUT = 240      # one runtime call that boots a VM, on a busy 2-core host
STOP_TIMEOUT = 120    # a VM's process seen as stopped after a signal


def _agent():
    env = os.environ.get("HUSK_AGENT")
    return env or os.path.join(os.path.dirname(os.path.realpath(HUSK_BIN)), "husk-agent")


def _skip_reason():
    if IS_RUNC:
        return "runc has no VM mode"
    if not shutil.which("qemu-system-x86_64"):
        return "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
    if not glob.glob("/boot/vmlinuz-*") and not os.environ.get("HUSK_VM_KERNEL"):
        return "no guest kernel: /boot/vmlinuz-* is missing (Debian: linux-image-amd64)"
    if not os.access(_agent(), os.R_OK):
        return "the guest agent %s is not built" % _agent()
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.fixture(scope="module", autouse=True)
def vm_cache(session):
    """One kernel/initramfs cache for every test here (the first boot builds it)."""
    old = os.environ.get("HUSK_VM_CACHE")
    os.environ["HUSK_VM_CACHE"] = os.path.join(session.dir, "vm-cache")
    yield
    if old is None:
        os.environ.pop("HUSK_VM_CACHE", None)
    else:
        os.environ["HUSK_VM_CACHE"] = old


def vm_run(runtime, b, *extra, **kw):
    return runtime.run(b, "--vm", *extra, timeout=VM_TIMEOUT, **kw)


def monitor_pid(runtime, cid):
    return runtime.state_json(cid)["pid"]


def qemu_pid(monitor):
    """QEMU: the monitor's only child."""
    with open("/proc/%d/task/%d/children" % (monitor, monitor)) as f:
        kids = [int(x) for x in f.read().split()]
    assert len(kids) == 1, kids
    with open("/proc/%d/cmdline" % kids[0], "rb") as f:
        assert b"qemu-system-x86_64" in f.read()
    return kids[0]


def no_qemu_under(path):
    """No QEMU process mentions path (a bundle's rootfs, the state dir)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"qemu-system" in cmd and path.encode() in cmd:
            return False
    return True


def test_run_echo(bundle, runtime, leaks):
    b = bundle(["echo", "hello from the guest"])
    before = leaks.snapshot()
    r = vm_run(runtime, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from the guest\n"
    leaks.assert_clean(before, what="run --vm")


def test_exit_status_and_stderr(bundle, runtime):
    b = bundle(["sh", "-c", "echo to-stderr >&2; exit 7"])
    r = vm_run(runtime, b)
    assert r.returncode == 7, r.stderr
    assert "to-stderr" in r.stderr


def test_env_and_cwd(bundle, runtime):
    b = bundle(["sh", "-c", "echo foo=$FOO; pwd"])
    b.process["env"].append("FOO=bar baz")
    b.process["cwd"] = "/tmp"
    r = vm_run(runtime, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["foo=bar baz", "/tmp"]


def test_bind_mounts_reach_the_guest(bundle, runtime, tmpdir_s):
    """Bind-mount sources are shared into the guest over 9p: a directory
    read-write (the host sees the write), a single file read-only."""
    data = os.path.join(tmpdir_s, "data")
    os.makedirs(data)
    with open(os.path.join(data, "in-dir"), "w") as f:
        f.write("from-the-dir\n")
    one = os.path.join(tmpdir_s, "one.txt")
    with open(one, "w") as f:
        f.write("from-the-file\n")
    b = bundle(["sh", "-c", "cat /mnt/data/in-dir /mnt/one.txt; echo written > /mnt/data/out; "
                            "echo x > /mnt/one.txt || echo file-is-ro"])
    b.config["root"]["readonly"] = False
    b.add_mount("/mnt/data", "bind", data, ["rbind", "rw"])
    b.add_mount("/mnt/one.txt", "bind", one, ["bind", "ro"])
    r = vm_run(runtime, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["from-the-dir", "from-the-file", "file-is-ro"]
    with open(os.path.join(data, "out")) as f:
        assert f.read() == "written\n"
    with open(one) as f:
        assert f.read() == "from-the-file\n"


def test_own_kernel(bundle, runtime):
    """uname -r inside is the guest's kernel; the same bundle without --vm
    shares the host's."""
    host = os.uname().release
    b = bundle(["uname", "-r"])
    r = vm_run(runtime, b)
    assert r.returncode == 0, r.stderr
    guest = r.stdout.strip()
    assert guest and guest != host
    assert glob.glob("/boot/vmlinuz-" + guest) or os.environ.get("HUSK_VM_KERNEL")
    plain = runtime.run(b, cid=b.id + "-plain")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == host


def test_lifecycle_kill_term(bundle, runtime, leaks):
    """create boots to "created", start runs it, `kill` reaches the process
    in the guest through the monitor, and the exit status comes back."""
    b = bundle(["sh", "-c", "trap 'echo got-term; exit 3' TERM; echo ready; "
                            "while :; do sleep 0.1; done"])
    before = leaks.snapshot()
    r = runtime.create(b, "--vm", timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    st = runtime.state_json(b.id)
    assert st["status"] == "created"
    monitor = st["pid"]
    qemu = qemu_pid(monitor)
    assert sorted(cgroup_procs(b.config["linux"]["cgroupsPath"])) == sorted([monitor, qemu])
    assert runtime.start(b.id, timeout=VM_TIMEOUT).returncode == 0
    assert runtime.state_json(b.id)["status"] == "running"
    runtime.wait_output(b.id, "ready", timeout=STOP_TIMEOUT)
    assert runtime.kill(b.id, "TERM").returncode == 0
    runtime.wait_status(b.id, "stopped", timeout=STOP_TIMEOUT)
    assert "got-term" in runtime.output(b.id)[0]
    assert wait_for(lambda: pid_gone(qemu), timeout=30)
    assert runtime.delete(b.id).returncode == 0
    leaks.assert_clean(before, what="create/start/kill/delete --vm")


def test_run_foreground_passes_exit_code_of_trapped_signal(bundle, runtime):
    b = bundle(["sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.1; done"])
    p = runtime.run_bg(b, "--vm")
    runtime.wait_output(b.id, "ready", timeout=VM_TIMEOUT)
    assert runtime.kill(b.id, "TERM").returncode == 0
    assert p.wait(timeout=STOP_TIMEOUT) == 3


def test_exec(bundle, runtime, tmpdir_s):
    b = bundle(["sleep", "1000"])
    r = vm_run(runtime, b, detach=True)
    assert r.returncode == 0, r.stderr
    r = runtime.exec(b.id, "sh", "-c", "echo exec-out; cat; uname -r; exit 5",
                     input="from-stdin\n", timeout=VM_TIMEOUT)
    assert r.returncode == 5, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["exec-out", "from-stdin"]
    assert lines[2] != os.uname().release
    # --detach --pid-file: a relay process stands for it and exits as it does
    pidfile = os.path.join(tmpdir_s, "exec.pid")
    r = runtime.exec(b.id, "sh", "-c", "sleep 1; exit 4",
                     opts=("--detach", "--pid-file", pidfile), timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    with open(pidfile) as f:
        relay = int(f.read())
    assert relay in cgroup_procs(b.config["linux"]["cgroupsPath"])
    assert wait_for(lambda: pid_gone(relay), timeout=STOP_TIMEOUT)
    assert runtime.state_json(b.id)["status"] == "running"


def test_terminal_over_console_socket(bundle, runtime, tmpdir_s):
    b = bundle(["sh", "-c", "tty; stty size; read line; echo got:$line"])
    b.process["terminal"] = True
    b.process["consoleSize"] = {"height": 30, "width": 90}
    console = ConsoleReceiver(os.path.join(tmpdir_s, "console.sock"))
    try:
        r = runtime.create(b, "--vm", "--console-socket", console.path, timeout=VM_TIMEOUT)
        assert r.returncode == 0, r.stderr
        console.accept()
        assert runtime.start(b.id).returncode == 0
        out = console.read_until("30 90", timeout=STOP_TIMEOUT)
        assert out.splitlines()[0].strip().startswith("/dev/pts/"), out
        console.write("typed\n")
        assert "got:typed" in console.read_until("got:typed", timeout=STOP_TIMEOUT)
        runtime.wait_status(b.id, "stopped", timeout=STOP_TIMEOUT)
    finally:
        console.close()


def test_bad_kernel_path_fails_clearly(bundle, runtime, leaks, tmpdir_s):
    b = bundle(["true"])
    before = leaks.snapshot()
    missing = os.path.join(tmpdir_s, "no-such-vmlinuz")
    r = vm_run(runtime, b, "--vm-kernel", missing)
    assert r.returncode != 0
    assert missing in r.stderr
    assert runtime.state(b.id).returncode != 0
    not_a_kernel = os.path.join(tmpdir_s, "not-a-kernel")
    with open(not_a_kernel, "w") as f:
        f.write("#!/bin/sh\n")
    r = vm_run(runtime, b, "--vm-kernel", not_a_kernel)
    assert r.returncode != 0
    assert not_a_kernel in r.stderr
    leaks.assert_clean(before, what="run --vm with a bad kernel")


def test_missing_agent_fails_clearly(bundle, runtime, leaks):
    b = bundle(["true"])
    before = leaks.snapshot()
    env = dict(os.environ, HUSK_AGENT="/nonexistent/husk-agent")
    r = runtime.cmd("run", "--vm", "--bundle", b.path, b.id, env=env, timeout=VM_TIMEOUT)
    assert r.returncode != 0
    assert "/nonexistent/husk-agent" in r.stderr
    leaks.assert_clean(before, what="run --vm without an agent")


def test_qemu_killed_leaves_stopped_and_deletable(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    before = leaks.snapshot()
    r = vm_run(runtime, b, detach=True)
    assert r.returncode == 0, r.stderr
    monitor = monitor_pid(runtime, b.id)
    qemu = qemu_pid(monitor)
    os.kill(qemu, signal.SIGKILL)
    runtime.wait_status(b.id, "stopped", timeout=STOP_TIMEOUT)
    assert "QEMU was killed by signal 9" in runtime.output(b.id)[1]
    assert pid_gone(monitor) and pid_gone(qemu)
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert no_qemu_under(b.path)
    leaks.assert_clean(before, what="a VM whose QEMU was killed")


def test_delete_force_stops_the_vm(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    before = leaks.snapshot()
    r = vm_run(runtime, b, detach=True)
    assert r.returncode == 0, r.stderr
    qemu = qemu_pid(monitor_pid(runtime, b.id))
    assert runtime.delete(b.id).returncode != 0          # running: refused
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert pid_gone(qemu)
    leaks.assert_clean(before, what="delete --force of a VM")


def test_husk_vm_name_and_annotation_select_vm_mode(bundle, runtime, tmpdir_s):
    link = os.path.join(tmpdir_s, "husk-vm")
    os.symlink(os.path.realpath(HUSK_BIN), link)
    host = os.uname().release
    b = bundle(["uname", "-r"])
    r = runtime.raw([link, "--root", runtime.root, "run", "--bundle", b.path, b.id],
                    timeout=VM_TIMEOUT)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() not in ("", host)
    b.use_id(b.id + "-ann")
    b.config["annotations"] = {"io.husk.vm": "true"}
    r = runtime.run(b, timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() not in ("", host)
    # husk's own state.json records it; runc's `state` output is unchanged
    b.use_id(b.id + "-st")
    r = runtime.create(b, timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(runtime.root, b.id, "state.json")) as f:
        assert json.load(f).get("vm") is True
    assert "vm" not in runtime.state_json(b.id)

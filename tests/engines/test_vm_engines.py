"""containerd and podman run containers in husk's micro-VMs (vm/vm.h) through
`husk-vm`, a symlink to husk whose name selects VM mode, so an engine names it
as a runtime binary of its own: `ctr run --runc-binary .../husk-vm` (the runc
options a containerd runtime handler's BinaryName sends the shim) and
`podman --runtime .../husk-vm`.  The harness puts husk-agent beside its copy
of husk, so no HUSK_AGENT is needed (conmon would not pass it on anyway).

Every VM boots a kernel under TCG here, so the tests are few and each boots
one VM.  A VM is proven by `uname -r`: the guest's kernel, not the host's.
The engines' own leak checks (conftest.py) run after each test; a QEMU left
behind is also looked for by the engine's directory in its command line.
"""
import glob
import os
import subprocess

import pytest

import engine_util as eu
from engine_daemons import Containerd, Podman, need_binaries

VM_TIMEOUT = 240      # one engine call that boots a VM, on a busy 2-core host


def _assert_guest_kernel(release):
    host = os.uname().release
    assert release and release != host, (release, host)
    if not os.environ.get("HUSK_VM_KERNEL"):
        boot = [os.path.basename(k)[len("vmlinuz-"):] for k in glob.glob("/boot/vmlinuz-*")]
        assert release in boot, (release, boot)


def _no_qemu(base):
    eu.wait_for(lambda: not eu.qemu_pids_mentioning(base), timeout=30,
                what="QEMU under %s to exit" % base)


# -------------------------------------------------------------- containerd --
@pytest.fixture(scope="module")
def cd_vm_daemon(eng_dir, eng_husk_vm, eng_image_tar):
    need_binaries("containerd", "ctr", "containerd-shim-runc-v2")
    d = Containerd(os.path.join(eng_dir, "containerd-vm"), eng_husk_vm, [eng_image_tar])
    yield d
    d.close()


@pytest.fixture
def cd_vm(cd_vm_daemon):
    yield cd_vm_daemon
    problems = cd_vm_daemon.leaks()
    cd_vm_daemon.remove_all()
    assert not problems, "; ".join(problems)
    _no_qemu(cd_vm_daemon.base)


def _task_status(cd, cid):
    for line in cd.ctr("task", "ls").stdout.splitlines():
        f = line.split()
        if f[:1] == [cid]:
            return f[-1]
    return None


def test_containerd_run_in_vm(cd_vm):
    """A runtime chosen by name with BinaryName husk-vm, as a CRI handler does."""
    opts = ["--runtime", "io.containerd.runc.v2", "--runc-binary", cd_vm.husk]
    r = cd_vm.ctr(*cd_vm.run_args("vmrun", "--rm", runtime_opts=opts), "sh", "-c",
                  "uname -r; echo to-stderr >&2; exit 42", timeout=VM_TIMEOUT)
    assert r.returncode == 42, (r.returncode, r.stdout, r.stderr)
    _assert_guest_kernel(r.stdout.strip())
    assert "to-stderr" in r.stderr


def test_containerd_kill_long_running_vm(cd_vm):
    """`ctr task kill` reaches the process in the guest through the monitor;
    the foreground `ctr run --rm` gets its exit status and removes it all."""
    argv = cd_vm.ctr_argv() + cd_vm.with_fifo_dir(cd_vm.run_args("vmkill", "--rm")) + [
        "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"]
    run = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        eu.wait_for(lambda: run.poll() is not None or _task_status(cd_vm, "vmkill") == "RUNNING",
                    timeout=VM_TIMEOUT, what="task vmkill running")
        assert run.poll() is None, run.communicate()
        assert eu.qemu_pids_mentioning(cd_vm.base), "no QEMU runs the task"
        # exec goes into the same guest
        r = cd_vm.ctr("task", "exec", "--exec-id", "e1", "vmkill", "uname", "-r",
                      timeout=VM_TIMEOUT)
        assert r.returncode == 0, r.stderr
        _assert_guest_kernel(r.stdout.strip())
        r = cd_vm.ctr("task", "kill", "vmkill")             # SIGTERM, to the trap
        assert r.returncode == 0, r.stderr
        out, err = run.communicate(timeout=120)
        assert run.returncode == 7, (run.returncode, out, err)
        assert cd_vm.containers() == []
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        cd_vm.remove_all()


# ------------------------------------------------------------------ podman --
@pytest.fixture(scope="module")
def pm_vm_engine(eng_dir, eng_husk_vm, eng_image_tar):
    need_binaries("podman", "conmon")
    p = Podman(os.path.join(eng_dir, "podman-vm"), eng_husk_vm, eng_image_tar)
    yield p
    p.close()


@pytest.fixture
def pm_vm(pm_vm_engine):
    yield pm_vm_engine
    problems = pm_vm_engine.leaks()
    pm_vm_engine.remove_all()
    assert not problems, "; ".join(problems)
    _no_qemu(pm_vm_engine.base)


def test_podman_run_in_vm(pm_vm):
    r = pm_vm.podman("run", *pm_vm.run_opts(), "--rm", eu.IMAGE_REF, "sh", "-c",
                     "uname -r; exit 5", timeout=VM_TIMEOUT)
    assert r.returncode == 5, (r.returncode, r.stdout, r.stderr)
    _assert_guest_kernel(r.stdout.strip())


def test_podman_kill_detached_vm(pm_vm):
    r = pm_vm.podman("run", *pm_vm.run_opts(), "-d", "--name", "vmk", eu.IMAGE_REF, "sh", "-c",
                     "trap 'exit 7' TERM; while :; do sleep 0.1; done", timeout=VM_TIMEOUT)
    assert r.returncode == 0, r.stderr
    try:
        r = pm_vm.podman("exec", "vmk", "uname", "-r", timeout=VM_TIMEOUT)
        assert r.returncode == 0, r.stderr
        _assert_guest_kernel(r.stdout.strip())
        r = pm_vm.podman("kill", "--signal", "TERM", "vmk")
        assert r.returncode == 0, r.stderr
        r = pm_vm.podman("wait", "vmk", timeout=120)
        assert r.stdout.strip() == "7", (r.stdout, r.stderr)
        r = pm_vm.podman("rm", "vmk")
        assert r.returncode == 0, r.stderr
    finally:
        pm_vm.remove_all()

"""linux.resources: the limits land in the container's own cgroup under
the session's test parent and take effect inside. Written for every kind
of host (v1 and hybrid, pure v2) and both cgroup managers (cgroupfs, and
systemd with HUSK_CGROUP_MANAGER=systemd): the helpers here pick the
file."""
import os

import pytest

# Pure cgroup v2: one hierarchy at /sys/fs/cgroup.
V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cg_file(b, controller, name):
    for base in ("/sys/fs/cgroup/" + controller, "/sys/fs/cgroup"):
        p = base + b.cgroup + "/" + name
        if os.path.exists(p):
            return p
    pytest.skip("no %s/%s on this machine" % (controller, name))


def limit_file(b, controller, v1_name, v2_name):
    """The container's file for a limit: v2_name on pure v2, else v1_name."""
    return cg_file(b, controller, v2_name if V2 else v1_name)


def read(path):
    with open(path) as f:
        return f.read().strip()


def test_cgroup_is_under_husk_tests(bundle, runtime):
    b = bundle(["sh", "-c", "cat /proc/self/cgroup"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    checked = 0
    for line in r.stdout.splitlines():
        ctrl, path = line.split(":", 2)[1:]
        # "" is the cgroup2 hierarchy (pure v2, or the hybrid one)
        if ctrl in ("memory", "pids", "cpu", "cpu,cpuacct", "devices", "freezer", ""):
            assert path == b.cgroup, line
            checked += 1
    assert checked, r.stdout


def test_pids_limit(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["pids"] = {"limit": 5}
    assert runtime.run(b, detach=True).returncode == 0
    assert read(cg_file(b, "pids", "pids.max")) == "5"


def test_pids_limit_stops_forks(bundle, runtime):
    b = bundle(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 100 & done; echo all-forked"])
    b.linux["resources"]["pids"] = {"limit": 5}
    r = runtime.run(b)
    assert "all-forked" not in r.stdout
    assert "fork" in r.stderr.lower() or "resource temporarily unavailable" in r.stderr.lower()


def test_memory_limit(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["memory"] = {"limit": 64 * 1024 * 1024}
    assert runtime.run(b, detach=True).returncode == 0
    path = limit_file(b, "memory", "memory.limit_in_bytes", "memory.max")
    assert int(read(path)) == 64 * 1024 * 1024


def test_cpu_shares(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}
    assert runtime.run(b, detach=True).returncode == 0
    if not V2:
        assert read(cg_file(b, "cpu", "cpu.shares")) == "512"
        assert read(cg_file(b, "cpu", "cpu.cfs_quota_us")) == "50000"
        assert read(cg_file(b, "cpu", "cpu.cfs_period_us")) == "100000"
    else:
        # runc's conversion: 1 + ((512 - 2) * 9999) / 262142
        assert read(cg_file(b, "cpu", "cpu.weight")) == "20"
        assert read(cg_file(b, "cpu", "cpu.max")) == "50000 100000"


def test_cgroup_removed_after_delete(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    procs = cg_file(b, "pids", "cgroup.procs")
    assert runtime.delete(b.id, force=True).returncode == 0
    assert not os.path.exists(os.path.dirname(procs))

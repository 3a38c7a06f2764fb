"""The systemd cgroup manager (--systemd-cgroup): each container is a
transient scope unit "husk-<id>.scope" in the session's slice, with the
limits as unit properties (what `systemctl show` reports) and in its cgroup
files, gone after delete.

Without systemd as PID 1 (this machine) only the refusal is checked; the
rest runs in the QEMU guest of test_cgroup_guest.py, whose second inner run
sets HUSK_CGROUP_MANAGER=systemd (so bundles get a slice:prefix:name
cgroupsPath and every command --systemd-cgroup)."""
import os
import subprocess

import pytest

from helpers.bundle import SYSTEMD, TEST_SLICE
from test_resources import V2, read

HAVE_SYSTEMD = os.path.isdir("/run/systemd/system")   # systemd is PID 1
MB = 1024 * 1024
# systemd's name for the memory limit: v1 knows only the older one.
MEMORY_MAX = "MemoryMax" if V2 else "MemoryLimit"

with_systemd = pytest.mark.skipif(
    not (SYSTEMD and HAVE_SYSTEMD),
    reason="needs systemd as PID 1 and HUSK_CGROUP_MANAGER=systemd (the test guest)")


def show(unit, *props):
    r = subprocess.run(["systemctl", "show", unit] + ["-p" + p for p in props],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def unit_of(b):
    return "husk-%s.scope" % b.id


def with_mknod(b):
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_MKNOD")
    return b


# ------------------------------------------------------ without systemd --
@pytest.mark.husk_only
@pytest.mark.skipif(HAVE_SYSTEMD, reason="systemd is running here")
def test_no_systemd_fails_cleanly(bundle, runtime, leaks):
    b = bundle(["true"])
    b.linux["cgroupsPath"] = "husk-tests.slice:husk:%s" % b.id
    before = leaks.snapshot()
    r = runtime.run(b, global_args=["--systemd-cgroup"])
    assert r.returncode != 0
    assert "systemd cgroup manager: no systemd on the system bus: " in r.stderr, r.stderr
    assert b.id not in runtime.list("-q").stdout.split()
    leaks.assert_clean(before, what="run --systemd-cgroup")


@pytest.mark.husk_only
def test_bad_cgroups_path_refused(bundle, runtime, leaks):
    # refused before systemd is asked, so this holds on any host
    b = bundle(["true"])
    b.linux["cgroupsPath"] = "/not/a/slice"
    before = leaks.snapshot()
    r = runtime.run(b, global_args=["--systemd-cgroup"])
    assert r.returncode != 0
    assert 'linux.cgroupsPath: expected "slice:prefix:name" for the systemd cgroup ' \
        'manager, got "/not/a/slice"' in r.stderr, r.stderr
    leaks.assert_clean(before, what="run --systemd-cgroup")


# --------------------------------------------------------- with systemd --
@with_systemd
def test_scope_has_the_limits_and_goes_with_delete(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"].update({
        "memory": {"limit": 64 * MB}, "pids": {"limit": 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}})
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    pid = runtime.state_json(b.id)["pid"]
    p = show(unit_of(b), "ActiveState", "Slice", "ControlGroup", "Delegate", MEMORY_MAX,
             "TasksMax", "CPUWeight", "CPUQuotaPerSecUSec", "AllowedCPUs", "DevicePolicy")
    assert p["ActiveState"] == "active"
    assert p["Slice"] == TEST_SLICE
    assert p["ControlGroup"] == b.cgroup
    assert p["Delegate"] == "yes"
    assert p[MEMORY_MAX] == str(64 * MB)
    assert p["TasksMax"] == "20"
    assert p["DevicePolicy"] == "strict"
    if V2:
        assert p["CPUWeight"] == "20"
        assert p["AllowedCPUs"] == "0"
        assert read("/sys/fs/cgroup%s/memory.max" % b.cgroup) == str(64 * MB)
        assert read("/sys/fs/cgroup%s/cpu.max" % b.cgroup) == "50000 100000"
    else:
        # systemd drives cpu and memory on v1; husk writes cpuset itself
        assert read("/sys/fs/cgroup/memory%s/memory.limit_in_bytes" % b.cgroup) == str(64 * MB)
        assert read("/sys/fs/cgroup/cpuset%s/cpuset.cpus" % b.cgroup) == "0"
        assert read("/sys/fs/cgroup/cpu,cpuacct%s/cpu.shares" % b.cgroup) == "512"
    assert p["CPUQuotaPerSecUSec"] == "500ms"
    procs = read("/sys/fs/cgroup%s/cgroup.procs" % b.cgroup if V2 else
                 "/sys/fs/cgroup/pids%s/cgroup.procs" % b.cgroup)
    assert str(pid) in procs.split()
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert show(unit_of(b), "LoadState")["LoadState"] == "not-found"
    assert not os.path.exists("/sys/fs/cgroup" + b.cgroup)
    if not V2:
        # the v1 directories husk made itself (cpuset, freezer, ...) go too
        left = [c for c in os.listdir("/sys/fs/cgroup")
                if os.path.exists("/sys/fs/cgroup/%s%s" % (c, b.cgroup))]
        assert not left, left


@with_systemd
def test_update_sets_unit_properties_and_files(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.cmd("update", "--memory", "32m", "--pids-limit", "10", "--cpu-quota", "30000",
                    b.id)
    assert r.returncode == 0, r.stderr
    p = show(unit_of(b), MEMORY_MAX, "TasksMax", "CPUQuotaPerSecUSec")
    assert p == {MEMORY_MAX: str(32 * MB), "TasksMax": "10", "CPUQuotaPerSecUSec": "300ms"}
    if V2:
        assert read("/sys/fs/cgroup%s/memory.max" % b.cgroup) == str(32 * MB)
        assert read("/sys/fs/cgroup%s/pids.max" % b.cgroup) == "10"
    else:
        assert read("/sys/fs/cgroup/memory%s/memory.limit_in_bytes" % b.cgroup) == str(32 * MB)
        assert read("/sys/fs/cgroup/pids%s/pids.max" % b.cgroup) == "10"


@with_systemd
def test_device_filter_holds_after_systemd_reapplies(bundle, runtime):
    # an update makes systemd attach its own device program again (from
    # DevicePolicy/DeviceAllow): the container still opens what it may and
    # not what it may not
    b = with_mknod(bundle(["sh", "-c", "mknod /dev/sdx b 8 0; sleep 1000"]))
    assert runtime.run(b, detach=True).returncode == 0
    assert runtime.cmd("update", "--pids-limit", "50", b.id).returncode == 0
    r = runtime.exec(b.id, "sh", "-c", "head -c 1 /dev/sdx; echo rc=$?; "
                     "head -c 3 /dev/zero | wc -c; echo x > /dev/null && echo null-ok")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["rc=1", "3", "null-ok"], (r.stdout, r.stderr)
    assert "Operation not permitted" in r.stderr


@with_systemd
def test_exec_joins_the_scope(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "cat", "/proc/self/cgroup")
    assert r.returncode == 0, r.stderr
    assert ("0::" + b.cgroup) in r.stdout.splitlines() or \
        any(line.endswith(":" + b.cgroup) for line in r.stdout.splitlines()), r.stdout


@with_systemd
def test_default_cgroups_path_is_husk_scope_in_system_slice(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["cgroupsPath"] = ""
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    p = show(unit_of(b), "Slice", "ControlGroup", "ActiveState")
    assert p == {"Slice": "system.slice", "ActiveState": "active",
                 "ControlGroup": "/system.slice/" + unit_of(b)}
    assert runtime.delete(b.id, force=True).returncode == 0
    assert show(unit_of(b), "LoadState")["LoadState"] == "not-found"


@with_systemd
def test_unit_name_taken_leaves_the_owner_alone(bundle, runtime):
    first = bundle(["sleep", "1000"])
    assert runtime.run(first, detach=True).returncode == 0
    second = bundle(["true"])
    second.linux["cgroupsPath"] = first.linux["cgroupsPath"]   # same unit name
    r = runtime.run(second)
    assert r.returncode != 0
    assert "systemd cgroup manager: start %s" % unit_of(first) in r.stderr, r.stderr
    assert second.id not in runtime.list("-q").stdout.split()
    # the failed create did not stop the first container's unit
    assert show(unit_of(first), "ActiveState")["ActiveState"] == "active"
    assert runtime.state_json(first.id)["status"] == "running"


@with_systemd
def test_stopped_container_deletes_after_systemd_removed_scope(bundle, runtime):
    # a scope stops by itself once empty; delete must not mind
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert show(unit_of(b), "LoadState")["LoadState"] == "not-found"

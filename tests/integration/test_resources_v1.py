"""linux.resources on cgroup v1 (the dev machine is hybrid): limits read back
from the container's own cgroup files under /husk-tests/<id>, take effect
inside, and a setting the host cannot honour fails cleanly.

Everything here runs real containers through the runtime under test; the
cgroup checks skip on a pure cgroup v2 host. Tests marked husk_only check
husk's error wording; runc 1.1 refuses the same configs (unified on v1 even
when the hybrid hierarchy has the file)."""
import glob
import os
import subprocess

import pytest

V1 = os.path.isdir("/sys/fs/cgroup/memory") and os.path.isdir("/sys/fs/cgroup/devices")
UNIFIED = "/sys/fs/cgroup/unified"

pytestmark = pytest.mark.skipif(not V1, reason="needs cgroup v1 hierarchies")

MB = 1024 * 1024


def cg(b, controller, name):
    return "/sys/fs/cgroup/%s%s/%s" % (controller, b.cgroup, name)


def read(path):
    with open(path) as f:
        return f.read().strip()


def leftovers(b):
    """Directories of the container's cgroup that still exist anywhere."""
    return glob.glob("/sys/fs/cgroup/*" + b.cgroup) + \
        glob.glob("/sys/fs/cgroup" + b.cgroup)


def with_mknod(b):
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_MKNOD")
    return b


# ---------------------------------------------------------------- memory --
def test_memory_limit_oom_kills(bundle, runtime):
    # dd's 64 MiB buffer is filled from /dev/zero: past the 32 MiB limit
    b = bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null;"
                " echo rc=$?; sleep 1000"])
    b.linux["resources"]["memory"] = {"limit": 32 * MB, "swap": 32 * MB}
    assert runtime.run(b, detach=True).returncode == 0
    out = runtime.wait_output(b.id, "rc=")
    assert "rc=137" in out                      # SIGKILL from the OOM killer
    assert int(read(cg(b, "memory", "memory.limit_in_bytes"))) == 32 * MB
    oom = dict(l.split() for l in read(cg(b, "memory", "memory.oom_control")).splitlines())
    assert int(oom["oom_kill"]) >= 1


def test_memory_swap_reservation_swappiness(bundle, runtime):
    if not os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        pytest.skip("no swap accounting (memsw)")
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["memory"] = {
        "limit": 64 * MB, "swap": 96 * MB, "reservation": 16 * MB,
        "swappiness": 10, "kernel": 8 * MB, "kernelTCP": 8 * MB}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    assert int(read(cg(b, "memory", "memory.limit_in_bytes"))) == 64 * MB
    # the spec's swap is memory+swap, which is what memsw limits
    assert int(read(cg(b, "memory", "memory.memsw.limit_in_bytes"))) == 96 * MB
    assert int(read(cg(b, "memory", "memory.soft_limit_in_bytes"))) == 16 * MB
    assert read(cg(b, "memory", "memory.swappiness")) == "10"
    # kernel limits are ignored (runc 1.1): still unlimited
    assert int(read(cg(b, "memory", "memory.kmem.tcp.limit_in_bytes"))) > 8 * MB


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_memory_swap_below_limit_fails_cleanly(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["memory"] = {"limit": 64 * MB, "swap": 32 * MB}
    r = runtime.run(b)
    assert r.returncode != 0
    assert "linux.resources.memory.swap: write memory.memsw.limit_in_bytes" in r.stderr
    assert leftovers(b) == []


# ------------------------------------------------------------------ pids --
def test_pids_max_makes_fork_fail(bundle, runtime):
    b = bundle(["sh", "-c", "sleep 100 & sleep 100 & sleep 100 & sleep 100 & echo forked"])
    b.linux["resources"]["pids"] = {"limit": 3}
    assert runtime.create(b).returncode == 0
    assert read(cg(b, "pids", "pids.max")) == "3"
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    out, err = runtime.output(b.id)
    assert "forked" not in out
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert "can't fork" in err or "Resource temporarily unavailable" in err


# ------------------------------------------------------------------- cpu --
def test_cpu_settings_read_back(bundle, runtime):
    b = bundle(["sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 1000"])
    b.linux["resources"]["cpu"] = {"shares": 256, "quota": 20000, "period": 50000,
                                   "cpus": "0", "mems": "0"}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    assert read(cg(b, "cpu", "cpu.shares")) == "256"
    assert read(cg(b, "cpu", "cpu.cfs_quota_us")) == "20000"
    assert read(cg(b, "cpu", "cpu.cfs_period_us")) == "50000"
    assert read(cg(b, "cpuset", "cpuset.cpus")) == "0"
    assert read(cg(b, "cpuset", "cpuset.mems")) == "0"
    out = runtime.wait_output(b.id, "Cpus_allowed_list")
    assert out.split()[-1] == "0"


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_cpu_shares_out_of_range(bundle, runtime):
    # the kernel clamps cpu.shares silently; husk, like runc, refuses
    b = bundle(["true"])
    b.linux["resources"]["cpu"] = {"shares": 1000000}
    r = runtime.run(b)
    assert r.returncode != 0
    assert "linux.resources.cpu.shares: the maximum allowed is 262144" in r.stderr
    assert leftovers(b) == []


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_value_refused_by_kernel_names_setting(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["cpu"] = {"quota": 10}   # below the kernel's 1 ms
    r = runtime.run(b)
    assert r.returncode != 0
    assert "config.json: linux.resources.cpu.quota: write cpu.cfs_quota_us: " \
        "Invalid argument" in r.stderr
    assert leftovers(b) == []
    assert b.id not in runtime.list("-q").stdout.split()


# --------------------------------------------------------------- devices --
def test_default_device_rules_match_runc(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    assert sorted(read(cg(b, "devices", "devices.list")).splitlines()) == sorted([
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
        "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"])


def test_default_spec_denies_block_device(bundle, runtime):
    # mknod of any node is allowed (runc's default), opening it is not
    b = with_mknod(bundle(["sh", "-c", "mknod /dev/sdx b 8 0 && echo made;"
                           " head -c 1 /dev/sdx; echo rc=$?"]))
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert "made" in r.stdout and "rc=1" in r.stdout
    assert "Operation not permitted" in r.stderr


def test_allowed_device_opens(bundle, runtime):
    # an unbound loop device: opens, and reads as empty
    b = with_mknod(bundle(["sh", "-c", "mknod /dev/lo7 b 7 7 && head -c 1 /dev/lo7;"
                           " echo rc=$?; mknod /dev/sdx b 8 0 && head -c 1 /dev/sdx;"
                           " echo rc=$?"]))
    b.linux["resources"]["devices"].append(
        {"allow": True, "type": "b", "major": 7, "minor": 7, "access": "rw"})
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["rc=0", "rc=1"]
    assert r.stderr.count("Operation not permitted") == 1


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_device_rule_punching_wildcard_refused(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["devices"] = [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "access": "rwm"},
        {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "r"}]
    r = runtime.run(b)
    assert r.returncode != 0
    assert "linux.resources.devices[2]" in r.stderr and "wildcard" in r.stderr
    assert leftovers(b) == []


# --------------------------------------------------------------- unified --
@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_unified_on_v1_refused(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["unified"] = {"memory.max": "100000000"}
    r = runtime.run(b)
    assert r.returncode != 0
    assert "config.json: linux.resources.unified.memory.max: cgroup v2 setting" in r.stderr
    assert leftovers(b) == []
    assert b.id not in runtime.list("-q").stdout.split()
    assert not os.path.exists(os.path.join(runtime.root, b.id))


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_unified_key_with_slash_refused(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["unified"] = {"../memory.max": "1"}
    r = runtime.run(b)
    assert r.returncode != 0
    assert "must be a cgroup file name" in r.stderr
    assert leftovers(b) == []


# ---------------------------------------------------------------- hybrid --
def _unified_is_cgroup2():
    r = subprocess.run(["stat", "-f", "-c", "%T", UNIFIED], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "cgroup2fs"


def test_hidden_unified_hierarchy_is_skipped(bundle, runtime, husk_bin):
    # crun (and our benchmark) hide the hybrid cgroup2 hierarchy under an
    # empty tmpfs in a private mount namespace; the container must still run
    if not _unified_is_cgroup2():
        pytest.skip("no hybrid cgroup2 hierarchy at %s" % UNIFIED)
    b = bundle(["sh", "-c", "cat /proc/self/cgroup"])
    b.save()
    runtime.track(b.id)
    script = ('mount -t tmpfs -o size=1m husk-test %s && exec "$@"' % UNIFIED)
    argv = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + \
        runtime.argv("run", "--bundle", b.path, b.id)
    r = runtime.raw(argv)
    assert r.returncode == 0, r.stderr
    assert "memory:" + b.cgroup in r.stdout
    assert leftovers(b) == []
    assert not os.path.exists(UNIFIED + b.cgroup)

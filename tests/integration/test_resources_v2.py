"""linux.resources on pure cgroup v2: the same checks as test_resources_v1.py,
read back from the container's v2 files (memory.max, cpu.max, cpu.weight,
cpuset.*, pids.max, ...), device rules enforced by the eBPF filter, and
`unified` written verbatim.

This machine is hybrid, so these skip here; the QEMU guest of
test_cgroup_guest.py runs them, once with the cgroupfs driver and once with
the systemd one (HUSK_CGROUP_MANAGER=systemd), whose cgroup is the unit's."""
import glob
import os

import pytest

from helpers.bundle import SYSTEMD
from test_resources import V2, read

pytestmark = pytest.mark.skipif(not V2, reason="needs pure cgroup v2")

MB = 1024 * 1024


def cg(b, name):
    return "/sys/fs/cgroup%s/%s" % (b.cgroup, name)


def keyed(path):
    return dict(line.split() for line in read(path).splitlines())


def leftovers(b):
    """The container's cgroup, if it still exists."""
    return glob.glob("/sys/fs/cgroup" + b.cgroup)


def with_mknod(b):
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_MKNOD")
    return b


# ---------------------------------------------------------------- memory --
def test_memory_limit_oom_kills(bundle, runtime):
    b = bundle(["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null;"
                " echo rc=$?; sleep 1000"])
    b.linux["resources"]["memory"] = {"limit": 32 * MB, "swap": 32 * MB}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    out = runtime.wait_output(b.id, "rc=", timeout=30)
    assert "rc=137" in out                      # SIGKILL from the OOM killer
    assert int(read(cg(b, "memory.max"))) == 32 * MB
    if os.path.exists(cg(b, "memory.swap.max")):
        assert read(cg(b, "memory.swap.max")) == "0"   # swap == limit: none
    assert int(keyed(cg(b, "memory.events"))["oom_kill"]) >= 1


def test_memory_swap_and_reservation(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["memory"] = {"limit": 64 * MB, "swap": 96 * MB,
                                      "reservation": 16 * MB}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    assert int(read(cg(b, "memory.max"))) == 64 * MB
    assert int(read(cg(b, "memory.low"))) == 16 * MB
    if not os.path.exists(cg(b, "memory.swap.max")):
        pytest.skip("no swap accounting")
    # the spec's swap is memory+swap; v2's memory.swap.max is swap alone
    assert int(read(cg(b, "memory.swap.max"))) == 32 * MB


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_memory_swap_below_limit_fails_cleanly(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["memory"] = {"limit": 64 * MB, "swap": 32 * MB}
    r = runtime.run(b)
    assert r.returncode != 0
    assert "linux.resources.memory.swap: memory+swap limit must be >= memory limit" \
        in r.stderr
    assert leftovers(b) == []
    assert b.id not in runtime.list("-q").stdout.split()


# ------------------------------------------------------------------ pids --
def test_pids_max_makes_fork_fail(bundle, runtime):
    b = bundle(["sh", "-c", "sleep 100 & sleep 100 & sleep 100 & sleep 100 & echo forked"])
    b.linux["resources"]["pids"] = {"limit": 3}
    assert runtime.create(b).returncode == 0
    assert read(cg(b, "pids.max")) == "3"
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped", timeout=30)
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
    assert read(cg(b, "cpu.weight")) == "10"     # 1 + ((256 - 2) * 9999) / 262142
    assert read(cg(b, "cpu.max")) == "20000 50000"
    assert read(cg(b, "cpuset.cpus")) == "0"
    assert read(cg(b, "cpuset.mems")) == "0"
    out = runtime.wait_output(b.id, "Cpus_allowed_list")
    assert out.split()[-1] == "0"


def test_cpu_quota_unlimited(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["cpu"] = {"quota": -1, "period": 200000}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    assert read(cg(b, "cpu.max")) == "max 200000"


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_cpu_shares_out_of_range(bundle, runtime):
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
    assert "config.json: linux.resources.cpu.quota: write cpu.max: Invalid argument" \
        in r.stderr
    assert leftovers(b) == []
    assert b.id not in runtime.list("-q").stdout.split()


# ------------------------------------------------------------ hugetlb, io --
def test_hugetlb_limit(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["hugepageLimits"] = [{"pageSize": "2MB", "limit": 4 * MB}]
    r = runtime.run(b, detach=True)
    if r.returncode != 0 and "hugetlb" not in read("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("no hugetlb controller")
    assert r.returncode == 0, r.stderr
    assert int(read(cg(b, "hugetlb.2MB.max"))) == 4 * MB


def test_io_weight(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["blockIO"] = {"weight": 500}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    if os.path.exists(cg(b, "io.bfq.weight")):
        assert "500" in read(cg(b, "io.bfq.weight"))
    elif os.path.exists(cg(b, "io.weight")):
        # runc's conversion: 1 + ((500 - 10) * 9999) / 990
        assert read(cg(b, "io.weight")) == "default 4950"
    else:
        pytest.skip("no io.weight (neither iocost nor BFQ)")


# --------------------------------------------------------------- devices --
def test_default_spec_denies_block_device(bundle, runtime):
    # mknod of any node is allowed (runc's default), opening it is not: the
    # eBPF device filter says no
    b = with_mknod(bundle(["sh", "-c", "mknod /dev/sdx b 8 0 && echo made;"
                           " head -c 1 /dev/sdx; echo rc=$?"]))
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert "made" in r.stdout and "rc=1" in r.stdout
    assert "Operation not permitted" in r.stderr


def test_allowed_device_opens(bundle, runtime):
    b = with_mknod(bundle(["sh", "-c", "mknod /dev/lo7 b 7 7 && head -c 1 /dev/lo7;"
                           " echo rc=$?; mknod /dev/sdx b 8 0 && head -c 1 /dev/sdx;"
                           " echo rc=$?"]))
    b.linux["resources"]["devices"].append(
        {"allow": True, "type": "b", "major": 7, "minor": 7, "access": "rw"})
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    # rc=0 once loop7 exists (the loop module), else ENXIO: never EPERM
    assert r.stdout.split()[1] == "rc=1"
    assert r.stderr.count("Operation not permitted") == 1, r.stderr


def test_default_char_devices_usable(bundle, runtime):
    b = bundle(["sh", "-c", "head -c 4 /dev/urandom | wc -c; echo x > /dev/null;"
                " head -c 2 /dev/zero | wc -c"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["4", "2"]


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
def test_unified_written_verbatim(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["memory"] = {"limit": 64 * MB}
    b.linux["resources"]["unified"] = {"memory.max": "50000000", "memory.high": "40000000",
                                       "pids.max": "7"}
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    # unified comes last and wins over the mapped memory.limit
    assert read(cg(b, "memory.max")) == "49999872"    # rounded to pages
    assert read(cg(b, "memory.high")) == "39997440"
    assert read(cg(b, "pids.max")) == "7"


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_unified_unknown_controller_refused(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["unified"] = {"net_cls.classid": "1"}
    r = runtime.run(b)
    assert r.returncode != 0
    assert 'linux.resources.unified.net_cls.classid: controller "net_cls" is not ' \
        'available' in r.stderr
    assert leftovers(b) == []
    assert b.id not in runtime.list("-q").stdout.split()


@pytest.mark.husk_only   # runc fails the same way, worded otherwise
def test_unified_key_with_slash_refused(bundle, runtime):
    b = bundle(["true"])
    b.linux["resources"]["unified"] = {"../memory.max": "1"}
    r = runtime.run(b)
    assert r.returncode != 0
    assert "must be a cgroup file name" in r.stderr
    assert leftovers(b) == []


# ------------------------------------------------------------ kill --all --
def test_kill_all_empties_the_cgroup(bundle, runtime):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & echo started; wait"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "started")
    assert len(read(cg(b, "cgroup.procs")).split()) >= 3
    r = runtime.kill(b.id, "KILL", all=True)
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    assert not os.path.exists(cg(b, "cgroup.procs")) or read(cg(b, "cgroup.procs")) == ""
    assert runtime.delete(b.id).returncode == 0
    assert leftovers(b) == []



# -------------------------------------------------------- relative paths --
def test_relative_path_goes_beside_own_cgroup(bundle, runtime):
    # v2 has no internal processes: a relative cgroupsPath lands under the
    # parent of the caller's own cgroup, as in runc
    if SYSTEMD:
        pytest.skip("the systemd manager takes slice:prefix:name")
    with open("/proc/self/cgroup") as f:
        own = [l.split(":", 2)[2] for l in f.read().splitlines() if l.startswith("0::")][0]
    b = bundle(["cat", "/proc/self/cgroup"])
    b.linux["cgroupsPath"] = "husk-rel-%s" % b.id
    want = os.path.join(os.path.dirname(own), b.linux["cgroupsPath"])
    assert runtime.create(b).returncode == 0
    assert os.path.isdir("/sys/fs/cgroup" + want)
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert runtime.output(b.id)[0].strip() == "0::" + want
    assert runtime.delete(b.id).returncode == 0
    assert not os.path.exists("/sys/fs/cgroup" + want)

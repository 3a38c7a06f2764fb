"""Each namespace isolates; joining a namespace by path; linux.sysctl."""
import os
import subprocess

import pytest



def run_ok(runtime, b):
    r = runtime.run(b)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


# ------------------------------------------------------------------ pid ----
def test_pid_namespace_process_is_pid_1(bundle, runtime):
    b = bundle(["sh", "-c", "echo $$; ps -o pid | wc -l"])
    lines = run_ok(runtime, b).split()
    assert lines[0] == "1"
    # ps header, sh, ps, wc: nothing from the host is visible
    assert int(lines[1]) <= 5


def test_without_pid_namespace_sees_host_pids(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "echo $$; readlink /proc/self/ns/pid"])
    b.remove_namespace("pid")
    pid, ns = run_ok(runtime, b).split()
    assert pid != "1"
    assert ns == host_ns("pid")


# ------------------------------------------------------------------ uts ----
def test_uts_namespace_hostname(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/hostname; "
                "readlink /proc/self/ns/uts"])
    b.config["hostname"] = "husk-box"
    out = run_ok(runtime, b).split()
    assert out[0] == "husk-box" and out[1] == "husk-box"
    assert out[2] != host_ns("uts")
    assert os.uname().nodename != "husk-box"


@pytest.mark.husk_only  # runc 1.1 ignores `domainname` (added in runc 1.2)
def test_uts_namespace_domainname(bundle, runtime):
    b = bundle(["cat", "/proc/sys/kernel/domainname"])
    b.config["domainname"] = "example.org"
    assert run_ok(runtime, b).strip() == "example.org"


def test_hostname_without_uts_namespace_is_refused(bundle, runtime, leaks):
    b = bundle(["true"])
    b.remove_namespace("uts")
    b.config["hostname"] = "nope"
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "hostname" in r.stderr.lower() or "uts" in r.stderr.lower()
    assert os.uname().nodename != "nope"
    leaks.assert_clean(before)


# ------------------------------------------------------------------ ipc ----
def test_ipc_namespace(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/ipc; cat /proc/sysvipc/shm | wc -l"])
    ns, lines = run_ok(runtime, b).split()
    assert ns != host_ns("ipc")
    assert lines == "1"   # only the header: no segments of the host


def test_no_ipc_namespace_shares_host(bundle, runtime, host_ns):
    b = bundle(["readlink", "/proc/self/ns/ipc"])
    b.remove_namespace("ipc")
    assert run_ok(runtime, b).strip() == host_ns("ipc")


# ------------------------------------------------------------------ net ----
def test_network_namespace_has_only_lo(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/net; "
                "tail -n +3 /proc/net/dev | cut -d: -f1"])
    out = run_ok(runtime, b).split()
    assert out[0] != host_ns("net")
    assert out[1:] == ["lo"]


def test_no_network_namespace_shares_host(bundle, runtime, host_ns):
    b = bundle(["readlink", "/proc/self/ns/net"])
    b.remove_namespace("network")
    assert run_ok(runtime, b).strip() == host_ns("net")


# ---------------------------------------------------------------- mount ----
def test_mount_namespace(bundle, runtime, host_ns, tmpdir_s):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/mnt; grep -c . /proc/self/mountinfo"])
    b.add_mount("/mnt", "tmpfs", "tmpfs", ["size=1m"])
    ns, count = run_ok(runtime, b).split()
    assert ns != host_ns("mnt")
    # the container's /mnt tmpfs is not in the host's table
    with open("/proc/self/mountinfo") as f:
        assert os.path.join(b.rootfs, "mnt") not in f.read()


# ------------------------------------------------------------------ user ---
def userns_bundle(bundle, args):
    b = bundle(args)
    b.add_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    return b


def test_user_namespace_mappings(bundle, runtime, host_ns):
    b = userns_bundle(bundle, ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; "
                               "id -u; readlink /proc/self/ns/user"])
    out = run_ok(runtime, b).split()
    assert out[0:3] == ["0", "100000", "65536"]
    assert out[3:6] == ["0", "100000", "65536"]
    assert out[6] == "0"
    assert out[7] != host_ns("user")


def test_user_namespace_file_ownership_on_host(bundle, runtime, tmpdir_s):
    shared = os.path.join(tmpdir_s, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    # /mnt exists in the image: mapped root cannot mkdir in the host-owned rootfs
    b = userns_bundle(bundle, ["sh", "-c", "touch /mnt/by-root; "
                               "mkdir /mnt/dir; chown 5:7 /mnt/dir"])
    b.add_mount("/mnt", "bind", shared, ["bind", "rw"])
    # chown needs CAP_CHOWN inside the namespace
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_CHOWN")
    run_ok(runtime, b)
    st = os.stat(os.path.join(shared, "by-root"))
    assert (st.st_uid, st.st_gid) == (100000, 100000)
    st = os.stat(os.path.join(shared, "dir"))
    assert (st.st_uid, st.st_gid) == (100005, 100007)


def test_user_namespace_host_root_files_are_unmapped(bundle, runtime):
    b = userns_bundle(bundle, ["stat", "-c", "%u %g", "/etc/passwd"])
    assert run_ok(runtime, b).strip() == "65534 65534"


# ---------------------------------------------------------------- cgroup ---
def test_cgroup_namespace_shows_root(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup"])
    b.add_namespace("cgroup")
    out = run_ok(runtime, b).splitlines()
    assert out[0] != host_ns("cgroup")
    assert len(out) > 1
    for line in out[1:]:
        assert line.split(":", 2)[2] == "/", line


def test_without_cgroup_namespace_shows_full_path(bundle, runtime):
    b = bundle(["cat", "/proc/self/cgroup"])
    b.remove_namespace("cgroup")
    out = run_ok(runtime, b)
    assert b.cgroup in out


# ------------------------------------------------------------------ time ---
@pytest.mark.husk_only  # runc 1.1 has no time namespace support (added in 1.2)
def test_time_namespace_boottime_offset(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/time; cut -d' ' -f1 /proc/uptime"])
    b.add_namespace("time")
    b.linux["timeOffsets"] = {"boottime": {"secs": 1000000, "nanosecs": 0},
                              "monotonic": {"secs": 1000000, "nanosecs": 0}}
    ns, uptime = run_ok(runtime, b).split()
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    assert ns != host_ns("time")
    assert float(uptime) >= 1000000 + host_up - 5
    assert float(uptime) < 1000000 + host_up + 60


# ---------------------------------------------------------- join by path ---
def test_join_uts_namespace_by_path(bundle, runtime):
    donor = bundle(["sleep", "1000"])
    donor.config["hostname"] = "donor-host"
    assert runtime.run(donor, detach=True).returncode == 0
    pid = runtime.state_json(donor.id)["pid"]
    b = bundle(["sh", "-c", "hostname; readlink /proc/self/ns/uts"])
    del b.config["hostname"]
    b.add_namespace("uts", "/proc/%d/ns/uts" % pid)
    name, ns = run_ok(runtime, b).split()
    assert name == "donor-host"
    assert ns == os.readlink("/proc/%d/ns/uts" % pid)


def _is_mountpoint(path):
    with open("/proc/self/mountinfo") as f:
        return any(l.split()[4] == path for l in f)


def test_join_network_namespace_by_path(bundle, runtime):
    name = "husk-it-%d" % os.getpid()
    had_dir = os.path.isdir("/run/netns")
    had_mount = had_dir and _is_mountpoint("/run/netns")
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        ino = os.stat("/run/netns/" + name).st_ino
        b = bundle(["sh", "-c", "readlink /proc/self/ns/net; "
                    "tail -n +3 /proc/net/dev | cut -d: -f1; ip link show lo"])
        b.add_namespace("network", "/run/netns/" + name)
        out = run_ok(runtime, b)
        lines = out.split("\n")
        assert lines[0] == "net:[%d]" % ino
        assert lines[1].strip() == "lo"
        assert "UP" in out.split("lo:", 1)[1].split(">")[0]   # brought up on the host side
    finally:
        subprocess.run(["ip", "netns", "del", name], timeout=10)
        # `ip netns add` makes /run/netns a shared bind mount of itself: undo
        # that if we caused it and nobody else has a netns there now
        if not had_mount and _is_mountpoint("/run/netns") and not os.listdir("/run/netns"):
            subprocess.run(["umount", "/run/netns"], timeout=10)
        if not had_dir and os.path.isdir("/run/netns") and not os.listdir("/run/netns"):
            try:
                os.rmdir("/run/netns")
            except OSError:
                pass
    assert not os.path.exists("/run/netns/" + name)


def test_join_nonexistent_namespace_path_fails(bundle, runtime, leaks, tmpdir_s):
    b = bundle(["true"])
    b.add_namespace("network", os.path.join(tmpdir_s, "no-such-ns"))
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "no-such-ns" in r.stderr
    leaks.assert_clean(before)


# ---------------------------------------------------------------- sysctl ---
def test_sysctl_net_in_new_netns(bundle, runtime):
    b = bundle(["cat", "/proc/sys/net/ipv4/ip_forward"])
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    assert run_ok(runtime, b).strip() == "1"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host = f.read().strip()
    # the host's value is not touched (whatever it was before)
    assert host in ("0", "1")


def test_sysctl_ipc_in_new_ipcns(bundle, runtime):
    with open("/proc/sys/kernel/shmmax") as f:
        host_before = f.read().strip()
    b = bundle(["cat", "/proc/sys/kernel/shmmax"])
    b.linux["sysctl"] = {"kernel.shmmax": "12345678"}
    assert run_ok(runtime, b).strip() == "12345678"
    with open("/proc/sys/kernel/shmmax") as f:
        assert f.read().strip() == host_before


def test_sysctl_net_without_netns_refused(bundle, runtime, leaks):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_before = f.read().strip()
    b = bundle(["true"])
    b.remove_namespace("network")
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "0" if host_before == "1" else "1"}
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "net.ipv4.ip_forward" in r.stderr
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read().strip() == host_before
    leaks.assert_clean(before)


def test_sysctl_not_namespaced_refused(bundle, runtime, leaks):
    b = bundle(["true"])
    b.linux["sysctl"] = {"kernel.panic": "5"}
    with open("/proc/sys/kernel/panic") as f:
        host_before = f.read().strip()
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "kernel.panic" in r.stderr
    with open("/proc/sys/kernel/panic") as f:
        assert f.read().strip() == host_before
    leaks.assert_clean(before)

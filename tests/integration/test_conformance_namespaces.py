"""Conformance: hostname/domainname, linux.namespaces joined by path, user
namespace mappings, time namespace offsets and linux.sysctl, judged inside
the container.  Complements test_namespaces.py."""
import os

import pytest

from helpers.conformance import run_ok

NS_LINK = {"network": "net", "ipc": "ipc", "uts": "uts", "pid": "pid", "cgroup": "cgroup",
           "mount": "mnt"}


# ---------------------------------------------------------------- uts ----
def test_hostname_absent_keeps_runtime_hostname(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "hostname; readlink /proc/self/ns/uts"])
    del b.config["hostname"]
    name, ns = run_ok(runtime, b).split()
    assert ns != host_ns("uts")         # a new uts namespace all the same
    assert name == os.uname().nodename


def test_hostname_empty_keeps_runtime_hostname(bundle, runtime):
    b = bundle(["hostname"])
    b.config["hostname"] = ""
    assert run_ok(runtime, b).strip() == os.uname().nodename


def test_hostname_change_inside_does_not_touch_host(bundle, runtime):
    before = os.uname().nodename
    b = bundle(["sh", "-c", "hostname changed-inside && hostname"])
    b.process["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    b.process["capabilities"]["effective"].append("CAP_SYS_ADMIN")
    b.process["capabilities"]["permitted"].append("CAP_SYS_ADMIN")
    assert run_ok(runtime, b).strip() == "changed-inside"
    assert os.uname().nodename == before


def test_domainname_absent_keeps_runtime_domainname(bundle, runtime):
    with open("/proc/sys/kernel/domainname") as f:
        host = f.read().strip()
    b = bundle(["cat", "/proc/sys/kernel/domainname"])
    assert run_ok(runtime, b).strip() == host


# ----------------------------------------------------- join by path ------
@pytest.fixture
def donor(bundle, runtime):
    """A running container (sleep) whose namespaces other containers join."""
    b = bundle(["sleep", "1000"])
    b.config["hostname"] = "donor-host"
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    b.pid = runtime.state_json(b.id)["pid"]
    return b


@pytest.mark.parametrize("kind", ["network", "ipc", "uts", "pid"])
def test_join_namespace_of_another_container(bundle, runtime, donor, host_ns, kind):
    link = NS_LINK[kind]
    b = bundle(["readlink", "/proc/self/ns/" + link])
    b.add_namespace(kind, "/proc/%d/ns/%s" % (donor.pid, link))
    if kind == "uts":
        del b.config["hostname"]
    got = run_ok(runtime, b).strip()
    assert got == os.readlink("/proc/%d/ns/%s" % (donor.pid, link))
    assert got != host_ns(link)


def test_join_cgroup_namespace_of_another_container(bundle, runtime, host_ns):
    first = bundle(["sleep", "1000"])
    first.add_namespace("cgroup")
    assert runtime.run(first, detach=True).returncode == 0
    pid = runtime.state_json(first.id)["pid"]
    b = bundle(["readlink", "/proc/self/ns/cgroup"])
    b.add_namespace("cgroup", "/proc/%d/ns/cgroup" % pid)
    got = run_ok(runtime, b).strip()
    assert got == os.readlink("/proc/%d/ns/cgroup" % pid) != host_ns("cgroup")


def test_join_network_namespace_sees_donor_changes(bundle, runtime, donor):
    # what the donor does to its network namespace is visible to the joiner
    r = runtime.exec(donor.id, "ip", "link", "set", "lo", "mtu", "12345",
                     opts=("--cap", "CAP_NET_ADMIN"))
    assert r.returncode == 0, r.stderr
    b = bundle(["ip", "-o", "link", "show", "lo"])
    b.add_namespace("network", "/proc/%d/ns/net" % donor.pid)
    out = run_ok(runtime, b)
    assert " mtu 12345 " in out, out


def test_join_uts_namespace_sees_hostname_not_config(bundle, runtime, donor):
    b = bundle(["hostname"])
    b.config.pop("hostname", None)
    b.add_namespace("uts", "/proc/%d/ns/uts" % donor.pid)
    assert run_ok(runtime, b).strip() == "donor-host"


def test_join_pid_namespace_sees_donor_processes(bundle, runtime, donor):
    b = bundle(["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '"])
    b.add_namespace("pid", "/proc/%d/ns/pid" % donor.pid)
    out = run_ok(runtime, b).splitlines()
    assert out[0] != "1"                 # not the init of that namespace
    assert out[1].strip() == "sleep 1000"


def test_join_ipc_namespace_shares_sysv_settings(bundle, runtime, tmpdir_s):
    first = bundle(["sleep", "1000"])
    first.linux["sysctl"] = {"kernel.msgmnb": "12345"}
    assert runtime.run(first, detach=True).returncode == 0, runtime.output(first.id)
    pid = runtime.state_json(first.id)["pid"]
    b = bundle(["cat", "/proc/sys/kernel/msgmnb"])
    b.add_namespace("ipc", "/proc/%d/ns/ipc" % pid)
    assert run_ok(runtime, b).strip() == "12345"


def test_network_namespace_loopback_is_up(bundle, runtime):
    # runc brings lo up in a network namespace it creates
    b = bundle(["ip", "-o", "link", "show", "lo"])
    out = run_ok(runtime, b)
    assert "UP" in out.split("<", 1)[1].split(">", 1)[0].split(","), out


# --------------------------------------------------------- user ns -------
def test_user_namespace_multi_range_mapping(bundle, runtime, tmpdir_s):
    shared = os.path.join(tmpdir_s, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    b = bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; "
                "touch /mnt/by-user; id -u; id -g"])
    b.add_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000},
                              {"containerID": 1000, "hostID": 200000, "size": 10}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 1000},
                              {"containerID": 1000, "hostID": 400000, "size": 10}]
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.add_mount("/mnt", "bind", shared, ["bind", "rw"])
    out = run_ok(runtime, b).split()
    assert out[:6] == ["0", "100000", "1000", "1000", "200000", "10"]
    assert out[6:12] == ["0", "300000", "1000", "1000", "400000", "10"]
    assert out[12:] == ["1000", "1000"]
    st = os.stat(os.path.join(shared, "by-user"))
    assert (st.st_uid, st.st_gid) == (200000, 400000)


def test_user_namespace_root_is_capable_inside_only(bundle, runtime):
    # mapped root has its capabilities in the container's user namespace
    b = bundle(["sh", "-c", "grep CapEff /proc/self/status; hostname inside-userns && hostname"])
    b.add_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_SYS_ADMIN")
    out = run_ok(runtime, b).splitlines()
    assert out[1] == "inside-userns"
    assert os.uname().nodename != "inside-userns"


# ------------------------------------------------------------ time ns ----
def _offsets(text):
    return {l.split()[0]: (l.split()[1], l.split()[2]) for l in text.splitlines() if l.strip()}


@pytest.mark.husk_only  # runc 1.1 has no time namespace support (added in 1.2)
def test_time_namespace_monotonic_offset(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/time; cat /proc/self/timens_offsets"])
    b.add_namespace("time")
    b.linux["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 500}}
    ns, rest = run_ok(runtime, b).split("\n", 1)
    assert ns != host_ns("time")
    offs = _offsets(rest)
    assert offs["monotonic"] == ("86400", "500")
    assert offs["boottime"] == ("0", "0")


@pytest.mark.husk_only  # runc 1.1 has no time namespace support (added in 1.2)
def test_time_namespace_without_offsets(bundle, runtime, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/time; cat /proc/self/timens_offsets"])
    b.add_namespace("time")
    ns, rest = run_ok(runtime, b).split("\n", 1)
    assert ns != host_ns("time")
    offs = _offsets(rest)
    assert offs == {"monotonic": ("0", "0"), "boottime": ("0", "0")}


def test_no_time_namespace_inherits_host(bundle, runtime, host_ns):
    b = bundle(["readlink", "/proc/self/ns/time"])
    assert run_ok(runtime, b).strip() == host_ns("time")


# ------------------------------------------------------------- sysctl ----
@pytest.mark.parametrize("key,value", [
    ("kernel.msgmax", "4096"),
    ("kernel.sem", "250 32000 32 64"),
    ("fs.mqueue.msg_max", "20"),
    ("net.ipv4.ip_default_ttl", "33"),
    ("net.core.somaxconn", "777"),
])
def test_sysctl_namespaced_keys(bundle, runtime, key, value):
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path) as f:
        host_before = f.read()
    b = bundle(["cat", path])
    b.linux["sysctl"] = {key: value}
    assert run_ok(runtime, b).split() == value.split()
    with open(path) as f:
        assert f.read() == host_before


def test_sysctl_kernel_domainname_with_uts_namespace(bundle, runtime):
    with open("/proc/sys/kernel/domainname") as f:
        host_before = f.read()
    b = bundle(["cat", "/proc/sys/kernel/domainname"])
    b.linux["sysctl"] = {"kernel.domainname": "sysctl.example"}
    assert run_ok(runtime, b).strip() == "sysctl.example"
    with open("/proc/sys/kernel/domainname") as f:
        assert f.read() == host_before


def test_sysctl_kernel_hostname_refused(bundle, runtime, leaks):
    # runc: kernel.hostname conflicts with the dedicated `hostname` field
    b = bundle(["true"])
    b.linux["sysctl"] = {"kernel.hostname": "via-sysctl"}
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "kernel.hostname" in r.stderr
    leaks.assert_clean(before)


def test_sysctl_ipc_without_ipc_namespace_refused(bundle, runtime, leaks):
    with open("/proc/sys/kernel/msgmax") as f:
        host_before = f.read()
    b = bundle(["true"])
    b.remove_namespace("ipc")
    b.linux["sysctl"] = {"kernel.msgmax": "4097"}
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "kernel.msgmax" in r.stderr
    with open("/proc/sys/kernel/msgmax") as f:
        assert f.read() == host_before
    leaks.assert_clean(before)


def test_sysctl_several_at_once(bundle, runtime):
    b = bundle(["sh", "-c", "cat /proc/sys/kernel/msgmnb /proc/sys/net/ipv4/ip_forward "
                "/proc/sys/fs/mqueue/queues_max"])
    b.linux["sysctl"] = {"kernel.msgmnb": "23456", "net.ipv4.ip_forward": "1",
                         "fs.mqueue.queues_max": "77"}
    assert run_ok(runtime, b).split() == ["23456", "1", "77"]

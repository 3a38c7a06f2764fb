"""Conformance: mounts[] options, root, rootfsPropagation, maskedPaths,
readonlyPaths and linux.devices judged by their effect inside the container
(mountinfo flags, failing writes/execs, file types).  Complements
test_mounts.py."""
import os
import subprocess

import pytest

from helpers.conformance import (add_caps, host_dir, mount_at, mountinfo, run_ok,
                                 writable_root)

MI = "cat /proc/self/mountinfo"


def _mi(runtime, b, point):
    b.set_args("cat", "/proc/self/mountinfo")
    return mount_at(run_ok(runtime, b), point)


# --------------------------------------------------------- atime flags ----
@pytest.mark.parametrize("opt,present,absent", [
    ("noatime", {"noatime"}, {"relatime"}),
    ("relatime", {"relatime"}, {"noatime"}),
    ("strictatime", set(), {"relatime", "noatime"}),
    ("nodiratime", {"nodiratime"}, set()),
])
def test_tmpfs_atime_flags(bundle, runtime, opt, present, absent):
    b = bundle()
    b.add_mount("/t", "tmpfs", "tmpfs", [opt])
    m = _mi(runtime, b, "/t")
    assert present <= m.opts, m
    assert not (absent & m.opts), m


@pytest.mark.parametrize("opt,present,absent", [
    ("noatime", {"noatime"}, {"relatime"}),
    ("strictatime", set(), {"relatime", "noatime"}),
])
def test_bind_atime_flags(bundle, runtime, tmpdir_s, opt, present, absent):
    d = host_dir(tmpdir_s, "atime")
    b = bundle()
    b.add_mount("/t", "bind", d, ["bind", opt])
    m = _mi(runtime, b, "/t")
    assert present <= m.opts, m
    assert not (absent & m.opts), m


# --------------------------------------------------- flag-type options ----
def test_tmpfs_ro_nosuid_nodev_noexec_flags(bundle, runtime):
    b = bundle()
    b.add_mount("/t", "tmpfs", "tmpfs", ["ro", "nosuid", "nodev", "noexec"])
    m = _mi(runtime, b, "/t")
    assert {"ro", "nosuid", "nodev", "noexec"} <= m.opts, m


def test_tmpfs_ro_effect(bundle, runtime):
    b = bundle(["sh", "-c", "touch /t/x; echo rc=$?"])
    b.add_mount("/t", "tmpfs", "tmpfs", ["ro"])
    r = runtime.run(b)
    assert r.stdout.strip() == "rc=1", (r.stdout, r.stderr)
    assert "Read-only file system" in r.stderr


SCRIPT = "printf '#!/bin/sh\\necho ran\\n' > /t/s && chmod 755 /t/s && /t/s; echo rc=$?"


def test_tmpfs_noexec_effect(bundle, runtime):
    b = bundle(["sh", "-c", SCRIPT])
    b.add_mount("/t", "tmpfs", "tmpfs", ["noexec"])
    r = runtime.run(b)
    assert r.stdout.split() == ["rc=126"], (r.stdout, r.stderr)
    assert "Permission denied" in r.stderr


def test_later_option_wins_exec_after_noexec(bundle, runtime):
    b = bundle(["sh", "-c", SCRIPT])
    b.add_mount("/t", "tmpfs", "tmpfs", ["noexec", "exec"])
    r = runtime.run(b)
    assert r.stdout.split() == ["ran", "rc=0"], (r.stdout, r.stderr)


def test_later_option_wins_rw_after_ro(bundle, runtime):
    b = bundle(["sh", "-c", "touch /t/x && echo wrote"])
    b.add_mount("/t", "tmpfs", "tmpfs", ["ro", "rw"])
    assert run_ok(runtime, b) == "wrote\n"


def test_nosymfollow(bundle, runtime):
    b = bundle(["sh", "-c", "echo data > /t/f && ln -s /t/f /t/l && cat /t/l; echo rc=$?; "
                "cat /t/f; grep ' /t ' /proc/self/mountinfo"])
    b.add_mount("/t", "tmpfs", "tmpfs", ["nosymfollow"])
    r = runtime.run(b)
    out = r.stdout.splitlines()
    assert out[0] == "rc=1", (r.stdout, r.stderr)
    assert out[1] == "data"
    assert "nosymfollow" in out[2].split()[5].split(",")


# ------------------------------------------------------------- tmpfs data --
def test_tmpfs_uid_gid_mode_data_options(bundle, runtime):
    b = bundle(["stat", "-c", "%u:%g:%a", "/t"])
    b.add_mount("/t", "tmpfs", "tmpfs", ["uid=1000", "gid=20", "mode=710"])
    assert run_ok(runtime, b).strip() == "1000:20:710"


def test_tmpfs_size_in_mountinfo(bundle, runtime):
    b = bundle()
    b.add_mount("/t", "tmpfs", "tmpfs", ["size=2m", "nr_inodes=100"])
    m = _mi(runtime, b, "/t")
    assert "size=2048k" in m.super and "nr_inodes=100" in m.super, m


# ---------------------------------------------------------------- binds ---
def test_bind_file_to_missing_destination_creates_file(bundle, runtime, tmpdir_s):
    src = os.path.join(tmpdir_s, "one.txt")
    with open(src, "w") as f:
        f.write("one file\n")
    b = bundle(["sh", "-c", "stat -c %F /etc/new/one.txt; cat /etc/new/one.txt"])
    b.add_mount("/etc/new/one.txt", "bind", src, ["bind", "ro"])
    assert run_ok(runtime, b) == "regular file\none file\n"
    assert os.path.isfile(os.path.join(b.rootfs, "etc/new/one.txt"))


def test_bind_file_is_the_same_inode(bundle, runtime, tmpdir_s):
    src = os.path.join(tmpdir_s, "shared.txt")
    with open(src, "w") as f:
        f.write("before\n")
    os.chmod(src, 0o666)
    b = bundle(["sh", "-c", "echo after > /shared.txt"])
    b.add_mount("/shared.txt", "bind", src, ["bind", "rw"])
    writable_root(b)
    run_ok(runtime, b)
    with open(src) as f:
        assert f.read() == "after\n"


class Submount:
    """A host dir with a tmpfs mounted on its `sub` subdirectory."""

    def __init__(self, parent, name):
        self.dir = host_dir(parent, name, 0o777)
        self.sub = os.path.join(self.dir, "sub")
        os.mkdir(self.sub)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=777", "husk-it-sub",
                        self.sub], check=True, timeout=10)

    def close(self):
        subprocess.run(["umount", self.sub], check=True, timeout=10)


@pytest.fixture
def submount(tmpdir_s):
    s = Submount(tmpdir_s, "tree")
    yield s
    s.close()


def test_rro_makes_submounts_readonly(bundle, runtime, submount):
    b = bundle(["sh", "-c", "touch /r/sub/x; echo rc=$?; " + MI])
    b.add_mount("/r", "bind", submount.dir, ["rbind", "rro"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("rc=1\n"), r.stdout
    assert "ro" in mount_at(r.stdout, "/r").opts
    assert "ro" in mount_at(r.stdout, "/r/sub").opts
    assert not os.listdir(submount.sub)


def test_ro_rbind_leaves_submounts_writable(bundle, runtime, submount):
    # plain "ro" is MS_RDONLY on the bind mount itself (runc; mount(8) semantics)
    b = bundle(["sh", "-c", "touch /r/sub/x; echo rc=$?; " + MI])
    b.add_mount("/r", "bind", submount.dir, ["rbind", "ro"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert "ro" in mount_at(r.stdout, "/r").opts
    assert "rw" in mount_at(r.stdout, "/r/sub").opts
    assert r.stdout.startswith("rc=0\n"), (r.stdout, r.stderr)


def test_rnoexec_recursive(bundle, runtime, submount):
    b = bundle(["sh", "-c", MI])
    b.add_mount("/r", "bind", submount.dir, ["rbind", "rnoexec", "rnosuid", "rnodev"])
    out = run_ok(runtime, b)
    for point in ("/r", "/r/sub"):
        assert {"noexec", "nosuid", "nodev"} <= mount_at(out, point).opts, point


def test_rbind_submount_contents_visible(bundle, runtime, submount):
    with open(os.path.join(submount.sub, "marker"), "w") as f:
        f.write("in-sub\n")
    b = bundle(["cat", "/r/sub/marker"])
    b.add_mount("/r", "bind", submount.dir, ["rbind"])
    assert run_ok(runtime, b) == "in-sub\n"


# ---------------------------------------------------------- destinations --
def test_mounts_applied_in_order(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "inner", files={"f": ("inner\n", 0o644)})
    b = bundle(["sh", "-c", "cat /a/sub/f; ls -A /b"])
    # /a: tmpfs then a bind inside it -> visible; /b: bind then tmpfs over -> hidden
    b.add_mount("/a", "tmpfs", "tmpfs", [])
    b.add_mount("/a/sub", "bind", d, ["bind"])
    b.add_mount("/b/sub", "bind", d, ["bind"])
    b.add_mount("/b", "tmpfs", "tmpfs", [])
    writable_root(b)
    assert run_ok(runtime, b) == "inner\n"


def test_relative_mount_destination(bundle, runtime):
    # runtime-spec 1.2: a relative destination is relative to the container's /
    b = bundle(["sh", "-c", "grep -c ' /reldest ' /proc/self/mountinfo; stat -c %F /reldest"])
    b.add_mount("reldest", "tmpfs", "tmpfs", [])
    writable_root(b)
    assert run_ok(runtime, b).split("\n")[:2] == ["1", "directory"]


def test_mount_destination_with_dotdot_stays_in_rootfs(bundle, runtime):
    b = bundle(["sh", "-c", "grep ' /escape ' /proc/self/mountinfo | wc -l"])
    b.add_mount("/../../../escape", "tmpfs", "tmpfs", [])
    writable_root(b)
    assert run_ok(runtime, b).strip() == "1"
    assert os.path.isdir(os.path.join(b.rootfs, "escape"))
    assert not os.path.exists("/escape")


# ------------------------------------------------------------ tmpcopyup ---
def test_tmpcopyup(bundle, runtime):
    b = bundle(["sh", "-c", "cat /etc/hosts; grep ' /etc ' /proc/self/mountinfo | wc -l; "
                "echo new > /etc/new && echo wrote"])
    b.add_mount("/etc", "tmpfs", "tmpfs", ["tmpcopyup"])
    out = run_ok(runtime, b).splitlines()
    assert out == ["127.0.0.1 localhost", "1", "wrote"]
    assert not os.path.exists(os.path.join(b.rootfs, "etc/new"))


# --------------------------------------------------- mount propagation ----
@pytest.mark.parametrize("opt,tag", [("shared", "shared"), ("rshared", "shared"),
                                     ("unbindable", "unbindable")])
def test_mount_propagation_option(bundle, runtime, opt, tag):
    b = bundle()
    b.add_mount("/t", "tmpfs", "tmpfs", [opt])
    m = _mi(runtime, b, "/t")
    if tag == "unbindable":
        assert "unbindable" in m.optional, m
    else:
        assert m.tag(tag) is not None, m


def test_mount_private_has_no_peers(bundle, runtime):
    b = bundle()
    b.add_mount("/t", "tmpfs", "tmpfs", ["private"])
    m = _mi(runtime, b, "/t")
    assert m.optional == [], m


@pytest.mark.parametrize("prop,check", [
    ("private", lambda m: m.optional == []),
    ("rprivate", lambda m: m.optional == []),
    ("slave", lambda m: m.tag("shared") is None),
    ("rslave", lambda m: m.tag("shared") is None),
])
def test_rootfs_propagation(bundle, runtime, prop, check):
    b = bundle()
    b.linux["rootfsPropagation"] = prop
    m = _mi(runtime, b, "/")
    assert check(m), m


@pytest.mark.husk_only  # runc 1.1 leaves the container's / private with "shared"
@pytest.mark.parametrize("prop", ["shared", "rshared"])
def test_rootfs_propagation_shared(bundle, runtime, prop):
    b = bundle()
    b.linux["rootfsPropagation"] = prop
    m = _mi(runtime, b, "/")
    assert m.tag("shared") is not None, m


PROPAGATION_PROBE = (
    "mkdir -p /p-target /p-mnt /p-test && touch /p-test/example && "
    "mount --rbind / /p-target || { echo rbind-failed; exit 0; }; "
    "mount --bind /p-test /p-mnt && "
    "if [ -e /p-target/p-mnt/example ]; then echo propagated; else echo not-propagated; fi")


@pytest.mark.parametrize("prop,want", [
    pytest.param("shared", "propagated", marks=pytest.mark.husk_only),
    ("slave", "not-propagated"),
    ("private", "not-propagated"),
    pytest.param("unbindable", "rbind-failed", marks=pytest.mark.husk_only),
])
def test_rootfs_propagation_probe(bundle, runtime, prop, want):
    """What runtime-tools' runtimetest does inside the container: rbind / to a
    directory, mount something on /, and see whether it shows in the copy
    (shared: yes; slave/private: no; unbindable: the rbind fails).  runc 1.1
    leaves / private for "shared" and fails to start for "unbindable"."""
    b = writable_root(bundle(["sh", "-c", PROPAGATION_PROBE]))
    add_caps(b, "CAP_SYS_ADMIN")
    b.linux["rootfsPropagation"] = prop
    assert run_ok(runtime, b).strip() == want


def test_mounts_in_config_order_with_type_and_source(bundle, runtime):
    """runtimetest's validatePosixMounts: every non-bind mount shows in
    mountinfo with its configured type and source, in config order."""
    b = bundle(["cat", "/proc/self/mountinfo"])
    b.add_mount("/t1", "tmpfs", "first-tmpfs", ["size=1m"])
    b.add_mount("/t1/t2", "tmpfs", "second-tmpfs", ["size=1m"])
    writable_root(b)
    mounts = mountinfo(run_ok(runtime, b))
    last = -1
    for m in b.config["mounts"]:
        if m["type"] in ("bind", "cgroup"):
            continue
        idx = [i for i, x in enumerate(mounts) if x.point == m["destination"]
               and x.fstype == m["type"] and x.source == m["source"]]
        assert idx, "mount %r not in mountinfo" % m
        assert idx[0] > last, "mount %r out of order" % m
        last = idx[0]


class SharedHostDir:
    """A host directory bind-mounted onto itself and made shared, so mounts
    made under it later propagate to its slaves."""

    def __init__(self, path):
        self.path = path
        self.late = None
        subprocess.run(["mount", "--bind", path, path], check=True, timeout=10)
        subprocess.run(["mount", "--make-shared", path], check=True, timeout=10)

    def mount_late(self, rel):
        self.late = os.path.join(self.path, rel)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "husk-it-late", self.late],
                       check=True, timeout=10)
        with open(os.path.join(self.late, "from-host"), "w") as f:
            f.write("x")

    def close(self):
        if self.late:
            subprocess.run(["umount", self.late], timeout=10)
        subprocess.run(["umount", "-l", self.path], check=True, timeout=10)


WAIT_LATE = ("i=0; while [ $i -lt 40 ]; do [ -e %s/from-host ] && { echo seen; exit 0; }; "
             "sleep 0.05; i=$((i+1)); done; echo not-seen")


@pytest.mark.parametrize("opt,want", [("rslave", "seen"), ("rprivate", "not-seen")])
def test_bind_propagation_from_host(bundle, runtime, tmpdir_s, opt, want):
    d = host_dir(tmpdir_s, "shared-src")
    os.mkdir(os.path.join(d, "late"))
    shared = SharedHostDir(d)
    try:
        b = bundle(["sh", "-c", "echo ready; " + WAIT_LATE % "/hostd/late"])
        b.add_mount("/hostd", "bind", d, ["rbind", opt])
        assert runtime.run(b, detach=True).returncode == 0, runtime.output(b.id)
        runtime.wait_output(b.id, "ready")
        shared.mount_late("late")
        runtime.wait_status(b.id, "stopped", timeout=15)
        assert runtime.output(b.id)[0].split() == ["ready", want]
        assert runtime.delete(b.id).returncode == 0
    finally:
        shared.close()


@pytest.mark.husk_only  # runc 1.1 makes the rootfs's parent mount private: no master
def test_rootfs_propagation_slave_receives_host_mounts(bundle, runtime):
    """With the bundle on a shared mount and rootfsPropagation "slave", a mount
    made on the host under the rootfs after start shows up in the container."""
    b = bundle(["sh", "-c", "echo ready; " + WAIT_LATE % "/mnt/late"])
    os.mkdir(os.path.join(b.rootfs, "mnt/late"))
    shared = SharedHostDir(b.path)
    try:
        b.linux["rootfsPropagation"] = "slave"
        assert runtime.run(b, detach=True).returncode == 0, runtime.output(b.id)
        runtime.wait_output(b.id, "ready")
        shared.mount_late("rootfs/mnt/late")
        runtime.wait_status(b.id, "stopped", timeout=15)
        assert runtime.output(b.id)[0].split() == ["ready", "seen"]
        assert runtime.delete(b.id).returncode == 0
    finally:
        shared.close()


def test_container_mounts_do_not_propagate_to_host(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "shared-src2", 0o777)
    os.mkdir(os.path.join(d, "inner"))
    shared = SharedHostDir(d)
    try:
        b = bundle(["sh", "-c", "mount -t tmpfs -o size=16k husk-it-inner /hostd/inner && "
                    "touch /hostd/inner/from-container && echo mounted"])
        b.add_mount("/hostd", "bind", d, ["rbind", "rslave"])
        add_caps(b, "CAP_SYS_ADMIN")
        assert run_ok(runtime, b) == "mounted\n"
        assert not os.path.exists(os.path.join(d, "inner/from-container"))
        with open("/proc/self/mountinfo") as f:
            assert "husk-it-inner" not in f.read()
    finally:
        shared.close()


# ------------------------------------------------- masked / readonly -------
def test_masked_dir_is_readonly_tmpfs_masked_file_is_null(bundle, runtime):
    b = bundle(["sh", "-c", "stat -c %t:%T /proc/timer_list; " + MI])
    out = run_ok(runtime, b)
    first, mi = out.split("\n", 1)
    assert first == "1:3"
    m = mount_at(mi, "/sys/firmware")
    assert m.fstype == "tmpfs" and "ro" in m.opts, m


def test_readonly_path_file(bundle, runtime):
    b = writable_root(bundle(["sh", "-c", "echo x >> /etc/hosts; echo rc=$?; "
                              "echo y >> /etc/passwd && echo passwd-ok"]))
    b.linux["readonlyPaths"] = ["/etc/hosts"]
    r = runtime.run(b)
    assert r.stdout.split() == ["rc=1", "passwd-ok"], (r.stdout, r.stderr)
    with open(os.path.join(b.rootfs, "etc/hosts")) as f:
        assert f.read() == "127.0.0.1 localhost\n"


def test_readonly_paths_in_mountinfo(bundle, runtime):
    b = bundle()
    out = run_ok(runtime, b.set_args("cat", "/proc/self/mountinfo"))
    for p in ("/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs"):
        assert "ro" in mount_at(out, p).opts, p


def test_readonly_path_missing_is_ignored(bundle, runtime):
    b = bundle(["echo", "ok"])
    b.linux["readonlyPaths"].append("/no/such/path")
    assert run_ok(runtime, b) == "ok\n"


# ------------------------------------------------------------- devices ----
def test_device_fifo(bundle, runtime):
    b = bundle(["stat", "-c", "%F %a %u:%g", "/dev/myfifo"])
    b.linux["devices"] = [{"path": "/dev/myfifo", "type": "p", "fileMode": 0o640,
                           "uid": 1000, "gid": 20}]
    assert run_ok(runtime, b).strip() == "fifo 640 1000:20"


def test_device_block(bundle, runtime):
    b = bundle(["stat", "-c", "%F %t:%T %a", "/dev/myblk"])
    b.linux["devices"] = [{"path": "/dev/myblk", "type": "b", "major": 7, "minor": 200,
                           "fileMode": 0o600, "uid": 0, "gid": 0}]
    assert run_ok(runtime, b).strip() == "block special file 7:c8 600"


def test_device_type_u_is_char(bundle, runtime):
    b = bundle(["sh", "-c", "stat -c '%F %t:%T' /dev/myzero; head -c 5 /dev/myzero | wc -c"])
    b.linux["devices"] = [{"path": "/dev/myzero", "type": "u", "major": 1, "minor": 5,
                           "fileMode": 0o666}]
    b.linux["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    assert run_ok(runtime, b).split("\n")[:2] == ["character special file 1:5", "5"]


def test_device_mode_not_masked_by_umask(bundle, runtime):
    b = bundle(["stat", "-c", "%a", "/dev/wide"])
    b.process["user"]["umask"] = 0o077
    b.linux["devices"] = [{"path": "/dev/wide", "type": "c", "major": 1, "minor": 3,
                           "fileMode": 0o666}]
    assert run_ok(runtime, b).strip() == "666"


# ------------------------------------------------------ cgroup mount -------
def test_cgroup_mount_shows_own_cgroup(bundle, runtime):
    if not os.path.isdir("/sys/fs/cgroup/pids"):
        pytest.skip("no cgroup v1 pids hierarchy on this host")
    b = bundle(["sh", "-c", "ls /sys/fs/cgroup; echo --; cat /sys/fs/cgroup/pids/cgroup.procs"])
    out = run_ok(runtime, b)
    listing, procs = out.split("--\n")
    assert "pids" in listing.split() and "memory" in listing.split()
    # only the container's own process (sh exec()s its last command: cat, pid 1)
    assert procs.split() == ["1"], procs


# ---------------------------------------------------- idmapped mounts -----
@pytest.mark.husk_only  # runc 1.1 has no idmapped mounts (runtime-spec 1.1; runc 1.2)
def test_idmapped_bind_mount(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "idm", 0o755, {"owned": ("x", 0o644)})
    os.chown(os.path.join(d, "owned"), 1000, 1000)
    b = bundle(["sh", "-c", "stat -c %u:%g /idm /idm/owned /etc/passwd"])
    os.mkdir(os.path.join(b.rootfs, "idm"))
    b.add_namespace("user")
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["mounts"].append({
        "destination": "/idm", "type": "bind", "source": d, "options": ["bind"],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    # host-owned files outside the idmapped mount stay unmapped (nobody)
    assert run_ok(runtime, b).split() == ["0:0", "1000:1000", "65534:65534"]

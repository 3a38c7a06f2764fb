"""mounts[], root.readonly, maskedPaths, readonlyPaths, /dev, linux.devices."""
import os
import subprocess

import pytest
from helpers.conformance import host_dir


def run(runtime, b):
    r = runtime.run(b)
    return r


def run_ok(runtime, b):
    r = runtime.run(b)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def mountinfo_options(mountinfo_text, mountpoint):
    """(per-mount options, fstype, super options) of the last mount at mountpoint."""
    found = None
    for line in mountinfo_text.splitlines():
        f = line.split()
        if len(f) > 5 and f[4] == mountpoint:
            sep = f.index("-")
            found = (set(f[5].split(",")), f[sep + 1], set(f[sep + 3].split(",")))
    assert found, "no mount at %s in:\n%s" % (mountpoint, mountinfo_text)
    return found


# ---------------------------------------------------------------- tmpfs ----
def test_tmpfs_size_and_mode(bundle, runtime):
    # /tmpfs does not exist in the image: the runtime creates it
    b = bundle(["sh", "-c", "stat -c %a /tmpfs; df -k /tmpfs | tail -n 1; "
                "cat /proc/self/mountinfo"])
    b.add_mount("/tmpfs", "tmpfs", "tmpfs", ["size=1m", "mode=1770", "nosuid", "nodev"])
    out = run_ok(runtime, b).splitlines()
    assert out[0] == "1770"
    assert out[1].split()[1] == "1024"
    opts, fstype, sopts = mountinfo_options("\n".join(out[2:]), "/tmpfs")
    assert fstype == "tmpfs"
    assert {"nosuid", "nodev"} <= opts
    assert "size=1024k" in sopts and "mode=1770" in sopts


@pytest.mark.husk_only  # runc < 1.1.8 chmods the tmpfs back to the old dir's mode (runc#3911)
def test_tmpfs_mode_on_existing_dir(bundle, runtime):
    b = bundle(["stat", "-c", "%a", "/mnt"])
    b.add_mount("/mnt", "tmpfs", "tmpfs", ["mode=1770"])
    assert run_ok(runtime, b).strip() == "1770"


def test_tmpfs_mount_point_created(bundle, runtime):
    b = bundle(["sh", "-c", "stat -c %F /new/deep/dir"])
    b.config["root"]["readonly"] = False
    b.add_mount("/new/deep/dir", "tmpfs", "tmpfs", [])
    assert run_ok(runtime, b).strip() == "directory"
    assert os.path.isdir(os.path.join(b.rootfs, "new/deep/dir"))


# ----------------------------------------------------------------- bind ----
def test_bind_readonly(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "ro", 0o777, {"hello": ("hi there\n", 0o644)})
    b = bundle(["sh", "-c", "cat /data/hello; touch /data/new; echo rc=$?"])
    b.add_mount("/data", "bind", d, ["bind", "ro"])
    out = runtime.run(b)
    assert out.returncode == 0, out.stderr
    assert "hi there" in out.stdout
    assert "rc=1" in out.stdout
    assert "Read-only file system" in out.stderr
    assert os.listdir(d) == ["hello"]


def test_bind_readwrite(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "rw", 0o755)
    b = bundle(["sh", "-c", "echo written-inside > /data/out"])
    b.add_mount("/data", "none", d, ["rbind", "rw"])
    run_ok(runtime, b)
    with open(os.path.join(d, "out")) as f:
        assert f.read() == "written-inside\n"


def test_bind_file(bundle, runtime, tmpdir_s):
    src = os.path.join(tmpdir_s, "file.txt")
    with open(src, "w") as f:
        f.write("single file\n")
    b = bundle(["cat", "/etc/bound.txt"])
    b.config["root"]["readonly"] = False
    b.add_mount("/etc/bound.txt", "bind", src, ["bind", "ro"])
    assert run_ok(runtime, b) == "single file\n"


def test_noexec(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "exe", 0o755, {"script": ("#!/bin/sh\necho ran-script\n", 0o755)})
    b = bundle(["sh", "-c", "/x/script; echo rc=$?; /y/script"])
    b.add_mount("/x", "bind", d, ["bind", "noexec"])
    b.add_mount("/y", "bind", d, ["bind"])
    b.config["root"]["readonly"] = False
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["rc=126", "ran-script"]
    assert "Permission denied" in r.stderr


def test_nosuid_nodev_noexec_options_applied(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "opts", 0o755)
    b = bundle(["cat", "/proc/self/mountinfo"])
    b.add_mount("/data", "bind", d, ["rbind", "nosuid", "nodev", "noexec", "ro"])
    opts, _, _ = mountinfo_options(run_ok(runtime, b), "/data")
    assert {"nosuid", "nodev", "noexec", "ro"} <= opts


def test_nodev_blocks_device_nodes(bundle, runtime):
    script = ("mknod /a/null c 1 3 && mknod /b/null c 1 3 && "
              "echo x > /b/null && echo dev-ok; echo x > /a/null; echo rc=$?")
    b = bundle(["sh", "-c", script])
    b.add_mount("/a", "tmpfs", "tmpfs", ["nodev"])
    b.add_mount("/b", "tmpfs", "tmpfs", [])
    b.config["root"]["readonly"] = False
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_MKNOD")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["dev-ok", "rc=1"]
    assert "Permission denied" in r.stderr


def test_rbind_includes_submounts_bind_does_not(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "tree", 0o755)
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "husk-it-sub", sub],
                   check=True, timeout=10)
    try:
        with open(os.path.join(sub, "in-submount"), "w") as f:
            f.write("x")
        b = bundle(["sh", "-c", "ls /r/sub; echo --; ls /p/sub"])
        b.add_mount("/r", "bind", d, ["rbind", "ro"])
        b.add_mount("/p", "bind", d, ["bind", "ro"])
        out = run_ok(runtime, b).split()
        assert out == ["in-submount", "--"]
    finally:
        subprocess.run(["umount", sub], check=True, timeout=10)


def test_mount_through_symlink_stays_in_rootfs(bundle, runtime, tmpdir_s):
    out_abs = host_dir(tmpdir_s, "outside-abs", 0o755)
    out_rel = host_dir(tmpdir_s, "outside-rel", 0o755)
    b = bundle(["sh", "-c", "echo x > /evil-abs/marker && echo y > /evil-rel/marker && "
                "cat /proc/self/mountinfo"])
    os.symlink(out_abs, os.path.join(b.rootfs, "evil-abs"))
    os.symlink("../../../../../../../../../.." + out_rel, os.path.join(b.rootfs, "evil-rel"))
    b.add_mount("/evil-abs", "tmpfs", "tmpfs", ["size=64k"])
    b.add_mount("/evil-rel", "tmpfs", "tmpfs", ["size=64k"])
    b.config["root"]["readonly"] = False
    r = runtime.run(b)
    assert not os.path.exists(os.path.join(out_abs, "marker")), "mount escaped the rootfs"
    assert not os.path.exists(os.path.join(out_rel, "marker")), "mount escaped the rootfs"
    with open("/proc/self/mountinfo") as f:
        host_mi = f.read()
    assert out_abs not in host_mi and out_rel not in host_mi
    assert r.returncode == 0, r.stderr
    # inside, the mounts sit at the symlinks' targets *within* the rootfs
    mountinfo_options(r.stdout, out_abs)
    mountinfo_options(r.stdout, out_rel)
    assert os.path.isdir(os.path.join(b.rootfs, out_abs.lstrip("/")))


def test_bind_source_missing_fails(bundle, runtime, tmpdir_s, leaks):
    b = bundle(["true"])
    b.add_mount("/data", "bind", os.path.join(tmpdir_s, "does-not-exist"), ["bind"])
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "does-not-exist" in r.stderr
    leaks.assert_clean(before)


# ------------------------------------------------------------ root / ro ----
def test_root_readonly(bundle, runtime):
    b = bundle(["sh", "-c", "touch /x; echo rc=$?; touch /tmp/y; echo rc=$?"])
    assert b.config["root"]["readonly"] is True
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["rc=1", "rc=1"]
    assert "Read-only file system" in r.stderr


def test_root_writable(bundle, runtime):
    b = bundle(["sh", "-c", "echo data > /created-inside"])
    b.config["root"]["readonly"] = False
    run_ok(runtime, b)
    with open(os.path.join(b.rootfs, "created-inside")) as f:
        assert f.read() == "data\n"


def test_root_path_absolute(bundle, runtime):
    b = bundle(["echo", "abs-root"])
    b.config["root"]["path"] = b.rootfs
    assert run_ok(runtime, b) == "abs-root\n"


def test_sysfs_readonly(bundle, runtime):
    b = bundle(["sh", "-c", "ls /sys/kernel >/dev/null && echo listed; "
                "mkdir /sys/x; echo rc=$?"])
    r = runtime.run(b)
    assert r.stdout.split() == ["listed", "rc=1"], (r.stdout, r.stderr)


# ---------------------------------------------------- masked / readonly ----
def test_masked_paths(bundle, runtime):
    # /proc/timer_list (a default masked file) and /sys/firmware (a default
    # masked dir) exist on this kernel; /proc/kcore does not (no CONFIG_PROC_KCORE)
    with open("/proc/timer_list") as f:
        assert f.read()
    assert os.listdir("/sys/firmware")
    b = bundle(["sh", "-c", "cat /proc/timer_list | wc -c; ls -A /sys/firmware | wc -l; "
                "cat /proc/kcore 2>/dev/null | wc -c; "
                "ls -A /secret | wc -l; cat /secret-file | wc -c; "
                "echo x > /secret/new; echo rc=$?"])
    os.mkdir(os.path.join(b.rootfs, "secret"))
    with open(os.path.join(b.rootfs, "secret", "key"), "w") as f:
        f.write("top secret")
    with open(os.path.join(b.rootfs, "secret-file"), "w") as f:
        f.write("also secret")
    b.linux["maskedPaths"] += ["/secret", "/secret-file"]
    b.config["root"]["readonly"] = False
    out = run_ok(runtime, b).split()
    assert out == ["0", "0", "0", "0", "0", "rc=1"]


def test_masked_path_missing_is_ignored(bundle, runtime):
    b = bundle(["echo", "ok"])
    b.linux["maskedPaths"].append("/does/not/exist")
    assert run_ok(runtime, b) == "ok\n"


def test_readonly_paths(bundle, runtime, tmpdir_s):
    d = host_dir(tmpdir_s, "rwdata", 0o777)
    b = bundle(["sh", "-c", "echo h > /proc/sys/kernel/hostname; echo rc=$?; "
                "touch /data/x; echo rc=$?; cat /proc/sys/kernel/hostname"])
    b.config["hostname"] = "ro-test"
    b.add_mount("/data", "bind", d, ["bind", "rw"])
    b.linux["readonlyPaths"].append("/data")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["rc=1", "rc=1", "ro-test"]
    assert "Read-only file system" in r.stderr
    assert os.listdir(d) == []


# ------------------------------------------------------------------ /dev ---
DEFAULT_DEV = ["null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts",
               "shm", "mqueue", "fd", "stdin", "stdout", "stderr"]


def test_default_dev_contents(bundle, runtime):
    b = bundle(["ls", "-A", "/dev"])
    names = run_ok(runtime, b).split()
    for name in DEFAULT_DEV:
        assert name in names, (name, names)


def test_default_devices_are_usable(bundle, runtime):
    script = ("for d in null zero full random urandom tty; do "
              "  [ -c /dev/$d ] && echo c-$d; done; "
              "head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; "
              "echo x > /dev/null && echo null-ok; echo x > /dev/full; echo full=$?; "
              "for l in fd stdin stdout stderr; do readlink /dev/$l; done; "
              "stat -c '%t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty")
    b = bundle(["sh", "-c", script])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[:6] == ["c-null", "c-zero", "c-full", "c-random", "c-urandom", "c-tty"]
    assert out[6:10] == ["4", "4", "null-ok", "full=1"]
    assert out[10:14] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                          "/proc/self/fd/2"]
    assert out[14:] == ["1:3", "1:5", "1:7", "1:8", "1:9", "5:0"]


def test_dev_submounts(bundle, runtime):
    b = bundle(["cat", "/proc/self/mountinfo"])
    mi = run_ok(runtime, b)
    assert mountinfo_options(mi, "/dev/pts")[1] == "devpts"
    assert mountinfo_options(mi, "/dev/shm")[1] == "tmpfs"
    assert mountinfo_options(mi, "/dev/mqueue")[1] == "mqueue"
    assert mountinfo_options(mi, "/proc")[1] == "proc"
    assert mountinfo_options(mi, "/dev")[1] == "tmpfs"
    opts, _, _ = mountinfo_options(mi, "/sys")
    assert "ro" in opts


def test_linux_devices(bundle, runtime):
    b = bundle(["sh", "-c", "stat -c '%F %a %u %g %t:%T' /dev/mynull /dev/sub/myzero; "
                "echo x > /dev/mynull && echo write-ok; head -c 3 /dev/sub/myzero | wc -c"])
    b.linux["devices"] = [
        {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
         "fileMode": 0o666, "uid": 1000, "gid": 20},
        {"path": "/dev/sub/myzero", "type": "c", "major": 1, "minor": 5,
         "fileMode": 0o600, "uid": 0, "gid": 0},
    ]
    b.linux["resources"]["devices"] += [
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    ]
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "character special file 666 1000 20 1:3"
    assert lines[1] == "character special file 600 0 0 1:5"
    assert lines[2:] == ["write-ok", "3"]


def test_device_cgroup_denies_unlisted_device(bundle, runtime):
    # /dev/mem-like node made inside; the default device rules forbid opening it
    b = bundle(["sh", "-c", "mknod /dev/mymem c 1 1 && cat /dev/mymem; echo rc=$?"])
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_MKNOD")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "rc=1"
    assert "Operation not permitted" in r.stderr

"""CVE-2021-30465 class: a mount destination that is a symlink in the image.

runc joined rootfs + destination as strings and let the kernel follow what
it found: a destination that is (or goes through) a symlink to "/" or to
"../../../<somewhere>" put the mount outside the rootfs.  husk resolves every
destination with openat2(RESOLVE_IN_ROOT) and mounts on the fd (rootfs/
resolve.c, mounts.c): the symlink is followed *inside* the rootfs.  Static
symlinks here; the race of the original exploit is not reproduced.
"""
import os

from helpers.conformance import mountinfo
from helpers.cve import host_marker, tree_identity


def make_attack(bundle, tmpdir_s, link_target):
    """A host directory `victim` with a marker, a bind source with a file,
    and the rootfs link /evil -> link_target; the bind goes to /evil/victim."""
    victim = os.path.join(tmpdir_s, "victim")
    os.mkdir(victim)
    host_marker(victim)
    src = os.path.join(tmpdir_s, "src")
    os.mkdir(src)
    host_marker(src, "from-src", "bind-source\n", 0o644)
    b = bundle(["sh", "-c", "cat /proc/self/mountinfo; echo ===; "
                "ls %s; echo ===; ls /evil/victim" % victim])
    os.symlink(link_target, os.path.join(b.rootfs, "evil"))
    b.add_mount("/evil/victim", "bind", src, ["bind", "ro"])
    return b, victim


def check(runtime, b, victim, expect_at):
    before = tree_identity(victim)
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    info, in_victim, at_dest = r.stdout.split("===\n")
    points = [m.point for m in mountinfo(info)]
    # the bind is where the link leads *inside* the container's root ...
    assert expect_at in points, (expect_at, points)
    assert at_dest.split() == ["from-src"], at_dest
    # ... and the host's directory of that name was never touched
    assert tree_identity(victim) == before
    return r


def test_symlink_to_host_path_stays_in_rootfs(bundle, runtime, tmpdir_s):
    # /evil -> ../../../../<tmpdir>: outside the rootfs if followed on the host
    b, victim = make_attack(bundle, tmpdir_s, "../" * 12 + tmpdir_s.lstrip("/"))
    r = check(runtime, b, victim, victim)
    # inside, that path is the rootfs' own copy, created for the mount
    assert os.path.isdir(os.path.join(b.rootfs, victim.lstrip("/")))
    assert "from-src" in r.stdout.split("===\n")[1]


def test_symlink_to_absolute_host_path_stays_in_rootfs(bundle, runtime, tmpdir_s):
    b, victim = make_attack(bundle, tmpdir_s, tmpdir_s)
    check(runtime, b, victim, victim)


def test_symlink_to_root(bundle, runtime, tmpdir_s):
    # /evil -> "/": /evil/victim is the rootfs' /victim, never the host's /victim
    b, victim = make_attack(bundle, tmpdir_s, "/")
    assert not os.path.lexists("/victim")
    check(runtime, b, victim, "/victim")
    assert not os.path.lexists("/victim")
    assert os.path.isdir(os.path.join(b.rootfs, "victim"))


def test_symlink_dotdot_to_root(bundle, runtime, tmpdir_s):
    b, victim = make_attack(bundle, tmpdir_s, "../../../../../..")
    check(runtime, b, victim, "/victim")
    assert not os.path.lexists("/victim")


def test_tmpfs_through_symlink_to_host_etc(bundle, runtime, tmpdir_s):
    # a tmpfs on /evil where /evil -> ../../../etc would hide the host's /etc
    # in the container's namespace before pivot: it must cover the rootfs' /etc
    b = bundle(["sh", "-c", "echo \"P:$(head -1 /etc/passwd)\"; "
                "awk '$5==\"/etc\"{print $9}' /proc/self/mountinfo"])
    os.symlink("../../../../../etc", os.path.join(b.rootfs, "evil"))
    b.add_mount("/evil", "tmpfs", "tmpfs", ["size=64k"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "P:", r.stdout        # the container's /etc is now empty
    assert lines[-1] == "tmpfs", r.stdout    # the tmpfs is at /etc inside
    with open(os.path.join(b.rootfs, "etc", "passwd")) as f:
        assert f.read().startswith("root:x:0:0")

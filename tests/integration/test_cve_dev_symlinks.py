"""/dev symlinks in the image used to redirect the default device set-up.

Without a /dev tmpfs in the config, the runtime makes null, zero, full,
random, urandom and tty (and the fd/stdin/... links, ptmx) in the image's
own /dev.  If /dev/null is a symlink to a host file, or /dev itself a symlink
to "../../../<host dir>" or to /etc, a runtime following those links on the
host would create, chmod or chown files outside the rootfs.  husk creates
every node with *at() calls on directories resolved by openat2(
RESOLVE_IN_ROOT) and leaves an existing entry alone (rootfs/devices.c).
Checked: the host's files keep their type, mode, owner and content, and the
host directories get no new entries; where the container runs, its nodes are
inside the rootfs.  runc 1.1.5 creates the fd/stdin/stdout/stderr/ptmx links
through a /dev symlink on the host (seen: it littered the host's /etc with
them), so those tests are husk_only and aim only at scratch directories.
"""
import os
import stat

import pytest

from helpers.cve import host_marker, tree_identity


def without_dev_tmpfs(b):
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    return b


def test_dev_nodes_symlinked_to_host_files(bundle, runtime, tmpdir_s):
    victims = os.path.join(tmpdir_s, "victims")
    os.mkdir(victims)
    for name in ("null", "zero", "tty", "urandom"):
        host_marker(victims, name, mode=0o600)
    before = tree_identity(victims)
    b = without_dev_tmpfs(bundle(["true"]))
    dev = os.path.join(b.rootfs, "dev")
    os.symlink(os.path.join(victims, "null"), os.path.join(dev, "null"))
    os.symlink("../" * 12 + victims.lstrip("/") + "/zero", os.path.join(dev, "zero"))
    os.symlink(os.path.join(victims, "tty"), os.path.join(dev, "tty"))
    os.symlink("../" * 12 + victims.lstrip("/") + "/urandom", os.path.join(dev, "urandom"))
    r = runtime.run(b)
    # (husk refuses: /dev/null is not the null device; runc runs)
    assert tree_identity(victims) == before, r.stderr
    for name in ("null", "zero", "tty", "urandom"):
        assert os.path.islink(os.path.join(dev, name))


@pytest.mark.husk_only   # runc 1.1.5 makes the /dev links through it, on the host
def test_dev_symlink_to_host_dir(bundle, runtime, tmpdir_s):
    hostdev = os.path.join(tmpdir_s, "hostdev")
    os.mkdir(hostdev)
    host_marker(hostdev, "keep")
    before = tree_identity(hostdev)
    b = without_dev_tmpfs(bundle(["sh", "-c", "stat -c '%F %t:%T' /dev/null /dev/zero"]))
    os.rmdir(os.path.join(b.rootfs, "dev"))
    os.symlink("../" * 12 + hostdev.lstrip("/"), os.path.join(b.rootfs, "dev"))
    r = runtime.run(b)
    assert tree_identity(hostdev) == before, (sorted(os.listdir(hostdev)), r.stderr)
    if r.returncode == 0:
        assert r.stdout.split("\n")[:2] == ["character special file 1:3",
                                             "character special file 1:5"], r.stdout
        # the nodes and links are in the rootfs' own copy of that path
        inside = os.path.join(b.rootfs, hostdev.lstrip("/"), "null")
        assert stat.S_ISCHR(os.lstat(inside).st_mode)
        assert os.path.islink(os.path.join(os.path.dirname(inside), "stdin"))


@pytest.mark.husk_only   # runc 1.1.5 makes the /dev links through it, on the host
def test_dev_absolute_symlink_to_host_dir(bundle, runtime, tmpdir_s):
    # the "/dev -> /etc" shape, aimed at a scratch directory: a runtime that
    # followed it on the host would litter (here: a temp dir, never /etc)
    hostdev = os.path.join(tmpdir_s, "etc")
    os.mkdir(hostdev)
    host_marker(hostdev, "passwd", "root:x:0:0::/:/bin/sh\n", 0o644)
    before = tree_identity(hostdev)
    b = without_dev_tmpfs(bundle(["sh", "-c", "stat -c '%F %t:%T' /dev/null"]))
    os.rmdir(os.path.join(b.rootfs, "dev"))
    os.symlink(hostdev, os.path.join(b.rootfs, "dev"))
    r = runtime.run(b)
    assert tree_identity(hostdev) == before, (sorted(os.listdir(hostdev)), r.stderr)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "character special file 1:3\n", r.stdout
    inside = os.path.join(b.rootfs, hostdev.lstrip("/"))
    assert stat.S_ISCHR(os.lstat(os.path.join(inside, "null")).st_mode)
    assert os.readlink(os.path.join(inside, "fd")) == "/proc/self/fd"

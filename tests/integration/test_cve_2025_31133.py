"""CVE-2025-31133: maskedPaths bind "/dev/null" without checking what it is.

Without a /dev tmpfs in the config, /dev comes from the image.  If the image's
/dev/null is a symlink to /proc/sys/kernel/core_pattern (or a regular file),
a runtime that bind mounts "/dev/null" over every masked file gives the
container a *writable* core_pattern (a host-wide sysctl: a root escape) under
a masked name, or at least unmasks nothing.  husk opens /dev/null in the root
with O_NOFOLLOW, requires the 1:3 character device before masking and checks
what got mounted afterwards (rootfs/paths.c, pivot.c open_dev_null), and the
default device set-up never replaces or follows what the image ships.

Either create fails naming /dev/null, or the masked files are the null
device and read empty.  Nothing here writes to any masked path or to
core_pattern; the host's core_pattern is compared before and after.
runc 1.1.5 binds whatever /dev/null is (the CVE): husk_only.
"""
import os

import pytest

from helpers.cve import file_identity

CORE_PATTERN = "/proc/sys/kernel/core_pattern"

CHECK = r"""
for f in /proc/keys /proc/timer_list /proc/kcore; do
  [ -e $f ] || continue
  echo "$f $(stat -L -c '%F %t:%T' $f) $(head -c 64 $f 2>/dev/null | wc -c)"
done
"""


def without_dev_tmpfs(b):
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/dev"]
    return b


def attack(bundle, runtime, make_null):
    core_before = open(CORE_PATTERN).read()
    b = without_dev_tmpfs(bundle(["sh", "-c", CHECK]))
    null = os.path.join(b.rootfs, "dev", "null")
    make_null(null)
    shipped = file_identity(null)
    r = runtime.run(b)
    assert open(CORE_PATTERN).read() == core_before
    assert "core" not in r.stdout.lower() or r.returncode != 0, r.stdout
    if r.returncode != 0:
        assert "/dev/null" in r.stderr and "null device" in r.stderr, r.stderr
    else:
        lines = [l for l in r.stdout.splitlines() if l.startswith("/proc/")]
        assert len(lines) >= 2, r.stdout
        for l in lines:
            assert l.split(None, 1)[1] == "character special file 1:3 0", r.stdout
    # the image's own /dev/null was neither replaced nor changed
    assert file_identity(null) == shipped
    return r


@pytest.mark.husk_only
def test_dev_null_symlink_to_core_pattern(bundle, runtime):
    r = attack(bundle, runtime, lambda p: os.symlink(CORE_PATTERN, p))
    assert r.returncode != 0


@pytest.mark.husk_only
def test_dev_null_relative_symlink_to_core_pattern(bundle, runtime):
    r = attack(bundle, runtime,
               lambda p: os.symlink("../proc/sys/kernel/core_pattern", p))
    assert r.returncode != 0


@pytest.mark.husk_only
def test_dev_null_regular_file(bundle, runtime):
    def make(p):
        with open(p, "w") as f:
            f.write("not a device\n")
        os.chmod(p, 0o644)
    r = attack(bundle, runtime, make)
    assert r.returncode != 0


@pytest.mark.husk_only
def test_dev_null_wrong_device(bundle, runtime):
    # a character device, but /dev/zero's numbers: masking would make the
    # masked files endless zeros instead of empty
    r = attack(bundle, runtime, lambda p: os.mknod(p, 0o20666, os.makedev(1, 5)))
    assert r.returncode != 0


def test_real_dev_null_in_image_masks(bundle, runtime):
    # the reference: an image /dev/null that really is 1:3 is used as is
    r = attack(bundle, runtime, lambda p: os.mknod(p, 0o20666, os.makedev(1, 3)))
    assert r.returncode == 0, r.stderr

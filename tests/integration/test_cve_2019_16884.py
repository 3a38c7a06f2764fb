"""CVE-2019-16884 / CVE-2019-19921 class: mounting over /proc to undo masking.

A bind mount over /proc (or over /proc/self/attr/..., or a tmpfs over
/proc/sys) replaces what maskedPaths, readonlyPaths and the LSM attribute
files rely on.  husk (rootfs/mounts.c check_proc_dest, on where the target
*resolved*) allows over /proc only a procfs, and inside /proc only the lxcfs
files; proc and sysfs themselves must not be mounted through a symlink.  A
bind of the host's procfs onto /proc is allowed, as in runc, but masking and
read-only paths still apply to it.
"""
import os

import pytest

from helpers.cve import host_marker


def refused(runtime, b, *words):
    r = runtime.run(b)
    assert r.returncode != 0, "accepted: %r" % r.stdout
    assert "PWNED" not in r.stdout
    text = r.stderr.lower()
    assert all(w in text for w in words), r.stderr
    return r


def test_bind_host_dir_over_proc_refused(bundle, runtime, tmpdir_s):
    fake = os.path.join(tmpdir_s, "fakeproc")
    os.mkdir(fake)
    b = bundle(["sh", "-c", "echo PWNED; ls /proc"])
    b.add_mount("/proc", "bind", fake, ["rbind"])
    refused(runtime, b, "/proc")


def test_bind_over_proc_self_attr_refused(bundle, runtime, tmpdir_s):
    path, _ = host_marker(tmpdir_s, "attr", "unconfined\n", 0o666)
    b = bundle(["sh", "-c", "echo PWNED"])
    b.add_mount("/proc/self/attr/exec", "bind", path, ["bind"])
    refused(runtime, b, "/proc")


# runc 1.1's checkProcMount lets a tmpfs go anywhere inside /proc (it
# covers /proc/sys with a writable empty tmpfs): husk refuses, husk_only.
@pytest.mark.husk_only
def test_tmpfs_over_proc_sys_refused(bundle, runtime):
    b = bundle(["sh", "-c", "echo PWNED; ls /proc/sys"])
    b.add_mount("/proc/sys", "tmpfs", "tmpfs", ["size=64k"])
    refused(runtime, b, "/proc")


@pytest.mark.husk_only   # as above: runc 1.1 accepts a tmpfs inside /proc
def test_tmpfs_into_proc_through_symlink_refused(bundle, runtime):
    # /myproc -> /proc in the image: the check is on the resolved target
    b = bundle(["sh", "-c", "echo PWNED"])
    os.symlink("/proc", os.path.join(b.rootfs, "myproc"))
    b.add_mount("/myproc/sys", "tmpfs", "tmpfs", ["size=64k"])
    refused(runtime, b, "/proc")


def test_proc_through_symlink_refused(bundle, runtime):
    # CVE-2019-19921: /proc in the image is a symlink to a directory the
    # image controls (swappable to anything); procfs must not be mounted
    # through it.  husk: "... not through a symlink"; runc: "must be mounted
    # on ordinary directory".
    b = bundle(["sh", "-c", "echo PWNED"])
    os.rmdir(os.path.join(b.rootfs, "proc"))
    os.mkdir(os.path.join(b.rootfs, "fakeproc"))
    os.symlink("fakeproc", os.path.join(b.rootfs, "proc"))
    refused(runtime, b, "proc")
    assert os.listdir(os.path.join(b.rootfs, "fakeproc")) == []


MASK_CHECK = r"""
for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do
  [ -e $f ] || continue
  echo "$f $(head -c 64 $f 2>/dev/null | wc -c)"
done
if echo 1 > /proc/sys/kernel/printk_ratelimit 2>/dev/null; then echo SYS-WRITABLE; fi
if echo 1 > /proc/sysrq-trigger 2>/dev/null; then echo SYSRQ-WRITABLE; fi
awk '$5=="/proc/sys"{print "SYS " $6}' /proc/self/mountinfo
"""


def check_masked(out):
    sizes = {l.split()[0]: int(l.split()[1]) for l in out.splitlines() if l.startswith("/proc/")}
    assert "/proc/keys" in sizes and "/proc/timer_list" in sizes, out
    assert all(n == 0 for n in sizes.values()), sizes
    assert "SYS-WRITABLE" not in out and "SYSRQ-WRITABLE" not in out, out
    assert any(l.startswith("SYS ro") for l in out.splitlines()), out


def test_masking_applies_to_default_proc(bundle, runtime):
    # the reference: the same checks on the spec's own procfs.  printk_ratelimit
    # is never written: /proc/sys is read-only, so the write fails before it
    # reaches the kernel (asserted); only a broken runtime would let it through
    b = bundle(["sh", "-c", MASK_CHECK])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    check_masked(r.stdout)


def test_masking_applies_to_bind_of_host_proc(bundle, runtime):
    b = bundle(["sh", "-c", MASK_CHECK])
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
    b.config["mounts"].insert(0, {"destination": "/proc", "type": "bind",
                                  "source": "/proc", "options": ["rbind"]})
    r = runtime.run(b)
    if r.returncode != 0:     # refusing it is fine too
        assert "/proc" in r.stderr, r.stderr
        return
    check_masked(r.stdout)

"""The default spec (`<runtime> spec`, terminal false) really confines.

A process started from the unedited default config has only CAP_AUDIT_WRITE,
CAP_KILL and CAP_NET_BIND_SERVICE (bounding = effective) and no_new_privs;
so it cannot mount, /proc/sys is read-only, the masked /proc files read
empty, and the device cgroup ("deny all" plus the defaults) refuses a block
device even to a process that may mknod one.  The default spec carries NO
seccomp profile -- runc's `runc spec` has none either; engines (Docker,
containerd, podman) add theirs -- so that is asserted rather than tested.
"""
import json
import os

from helpers.bundle import cgroups_path
from helpers.conformance import cap_names, status_field

DEFAULT = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

SCRIPT = r"""
cat /proc/self/status
echo ===
if mount -t tmpfs none /mnt 2>/dev/null; then echo MOUNT-OK; fi
if echo 1 > /proc/sys/kernel/printk_ratelimit 2>/dev/null; then echo SYS-WRITABLE; fi
echo "keys $(head -c 64 /proc/keys | wc -c)"
echo "timer_list $(head -c 64 /proc/timer_list | wc -c)"
if mknod /dev/blk b 8 0 2>/dev/null; then echo MKNOD-OK; fi
"""


def default_bundle(runtime, bundle, args):
    b = bundle(args)
    os.remove(os.path.join(b.path, "config.json"))
    r = runtime.cmd("spec", "--bundle", b.path, root=False)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(b.path, "config.json")) as f:
        b.config = json.load(f)
    assert "seccomp" not in b.config["linux"], "the default spec grew a seccomp profile"
    b.config["process"]["terminal"] = False
    b.config["process"]["args"] = list(args)
    b.config["linux"]["cgroupsPath"] = cgroups_path(b.id)
    return b


def test_default_spec_denies(bundle, runtime):
    b = default_bundle(runtime, bundle, ["sh", "-c", SCRIPT])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    status, out = r.stdout.split("===\n")
    for field in ("CapBnd", "CapEff", "CapPrm"):
        assert cap_names(int(status_field(status, field), 16)) == DEFAULT, field
    assert status_field(status, "NoNewPrivs") == "1"
    assert status_field(status, "Seccomp") == "0"     # none in the default spec
    assert "MOUNT-OK" not in out, out
    assert "SYS-WRITABLE" not in out, out
    assert "keys 0" in out and "timer_list 0" in out, out
    assert "MKNOD-OK" not in out, out                  # no CAP_MKNOD


def test_default_device_cgroup_refuses_block_device(bundle, runtime):
    # with CAP_MKNOD the node can be made, but the device cgroup of the
    # default spec must still refuse to open it
    b = default_bundle(runtime, bundle, ["sh", "-c",
                       "mknod /dev/blk b 8 0 && echo MADE; head -c 1 /dev/blk >/dev/null; "
                       "echo rc=$?"])
    caps = b.config["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        caps[s].append("CAP_MKNOD")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert "MADE" in r.stdout, (r.stdout, r.stderr)
    assert "rc=1" in r.stdout, r.stdout
    assert "Operation not permitted" in r.stderr, r.stderr

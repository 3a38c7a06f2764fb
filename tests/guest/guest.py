"""A QEMU guest for the tests that need a machine of their own: pure cgroup
v2 and systemd as PID 1 (this machine is hybrid and has no systemd).

The guest is this machine itself: its / shared read-only over virtio-9p with
a tmpfs overlay on top, booted with Debian's kernel (the PVH vmlinux taken
out of /boot/vmlinuz-*, which QEMU starts far faster than the bzImage), a
small busybox initramfs that loads the 9p and overlay modules and
switch_roots into systemd, and a target of ours that starts D-Bus and runs
one command. So the guest has every program this machine has, the husk
worktree and build included, at the same paths.

    r = guest.run("cd /work/husk && make -s test", timeout=1200)
    r.rc, r.output, r.dir            # exit code, its stdout+stderr, results

The command runs as root from a oneshot service (after dbus.service) with
/results, a writable 9p share of a fresh host directory (r.dir), which is
where it should leave files for the host; the guest powers off when it is
done. The vmlinux and initramfs are cached in HUSK_GUEST_CACHE (default
/var/cache/husk/test-guest), named by a hash of what they are made from.
Measured facts and pitfalls: /work/shared/notes/microvm.md.

Run it alone:  /usr/bin/python3 tests/guest/guest.py 'systemctl --version'
"""
import gzip
import hashlib
import io
import lzma
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

CACHE = os.environ.get("HUSK_GUEST_CACHE") or "/var/cache/husk/test-guest"
QEMU = "qemu-system-x86_64"
BUSYBOX = "/bin/busybox"
# Loaded in dependency order (modules.dep) by the initramfs.
MODULES = ["virtio_mmio", "9pnet_virtio", "9p", "overlay"]
CPUS = 2
MEMORY_MB = 1024
# TCG kernels hang calibrating against the PIT without a TSC rate
# (tsc_early_khz, added from /proc/cpuinfo); the rest trims boot time.
KERNEL_ARGS = (
    "console=ttyS0 quiet loglevel=1 panic=-1 tsc=reliable mitigations=off "
    "cryptomgr.notests no_timer_check pci=off audit=0 i8042.noaux i8042.nokbd "
    "i8042.nopnp random.trust_cpu=on rdinit=/init "
    "systemd.unit=husk-test.target systemd.show_status=0 systemd.log_target=console "
    "systemd.log_level=warning")
# The cgroup layouts a guest can boot with: pure v2 (most hosts now), or
# systemd's hybrid one (v1 controllers, cgroup2 at /sys/fs/cgroup/unified:
# this machine's layout, with systemd managing it).
CGROUP_ARGS = {
    "v2": "systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all",
    "hybrid": "systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=0",
}


class Unavailable(Exception):
    """The guest cannot run on this machine (the message says why)."""


class Result:
    def __init__(self, rc, output, dir, console, seconds):
        self.rc = rc              # the command's exit code; None if it never finished
        self.output = output      # its stdout and stderr
        self.dir = dir            # the host directory the guest saw as /results
        self.console = console    # the guest's serial console (kernel, systemd)
        self.seconds = seconds    # QEMU's wall time


# ------------------------------------------------------------- inputs --
def find_kernel():
    """(version, bzImage) of the newest /boot/vmlinuz-* with its modules."""
    found = []
    for name in os.listdir("/boot"):
        if not name.startswith("vmlinuz-"):
            continue
        version = name[len("vmlinuz-"):]
        if os.path.exists("/lib/modules/%s/modules.dep" % version):
            found.append(version)
    if not found:
        raise Unavailable("no /boot/vmlinuz-* with modules in /lib/modules "
                          "(install linux-image-amd64)")

    def key(v):
        return [int(x) if x.isdigit() else x for x in re.split(r"[.-]", v)]
    version = sorted(found, key=key)[-1]
    return version, "/boot/vmlinuz-" + version


def check_host():
    if not shutil.which(QEMU):
        raise Unavailable("%s not found (install qemu-system-x86)" % QEMU)
    if not os.path.exists(BUSYBOX):
        raise Unavailable("%s not found (install busybox-static)" % BUSYBOX)
    if not os.path.exists("/lib/systemd/systemd"):
        raise Unavailable("no /lib/systemd/systemd to boot the guest with (install systemd)")
    if not os.path.exists("/usr/bin/dbus-daemon"):
        raise Unavailable("no /usr/bin/dbus-daemon for the guest's system bus (install dbus)")
    if os.environ.get("HUSK_IN_GUEST"):
        raise Unavailable("already inside the test guest")


def _sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
    return h.hexdigest()[:16]


def _file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_atomic(path, data):
    """Writes a cache entry, and drops the older ones of its kind (the
    name up to the hash): a new kernel or initramfs replaces them."""
    d = os.path.dirname(path)
    kind = os.path.basename(path).split("-")[0] + "-"
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    for name in os.listdir(d):
        if name.startswith(kind) and os.path.join(d, name) != path:
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass


# ------------------------------------------------------------- vmlinux --
XZ_MAGIC = b"\xfd7zXZ\x00"


def vmlinux_from_bzimage(data):
    """The ELF vmlinux inside an XZ-compressed bzImage."""
    start = 0
    while True:
        at = data.find(XZ_MAGIC, start)
        if at < 0:
            raise Unavailable("no XZ-compressed kernel in the bzImage")
        try:
            out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
        except lzma.LZMAError:
            start = at + 1
            continue
        if out[:4] == b"\x7fELF":
            return out
        start = at + 1


def vmlinux(bzimage, cache=CACHE):
    path = os.path.join(cache, "vmlinux-%s" % _file_sha(bzimage)[:16])
    if not os.path.exists(path):
        with open(bzimage, "rb") as f:
            _write_atomic(path, vmlinux_from_bzimage(f.read()))
    return path


# ----------------------------------------------------------- initramfs --
def module_chain(version, names):
    """Module files for names, each after the modules it needs (from
    modules.dep), each once."""
    base = "/lib/modules/" + version
    deps = {}
    with open(base + "/modules.dep") as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod] = rest.split()

    def key(name):
        for mod in deps:
            stem = os.path.basename(mod).split(".ko")[0]
            if stem.replace("-", "_") == name.replace("-", "_"):
                return mod
        raise Unavailable("kernel %s has no module %s" % (version, name))

    order = []

    def visit(mod):
        if mod in order:
            return
        # modules.dep lists a module's full closure, deepest last
        for d in reversed(deps.get(mod, [])):
            visit(d)
        order.append(mod)
    for n in names:
        visit(key(n))
    return [os.path.join(base, m) for m in order]


def _module_bytes(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        data = lzma.decompress(data)
    elif path.endswith(".gz"):
        data = gzip.decompress(data)
    elif path.endswith(".zst"):
        raise Unavailable("zstd-compressed module %s" % path)
    return data


INIT = r"""#!/bin/busybox sh
# The test guest's first process: the host's / (9p, read-only) under a
# tmpfs overlay becomes the root, then systemd takes over.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod /modules/$m || echo "init: insmod $m failed"; done
mkdir -p /lower /upper /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=262144,cache=loose rootfs /lower || exec sh
mount -t tmpfs -o mode=0755 upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot || exec sh
# systemd believes a /.dockerenv and then ignores the kernel command line
rm -f /newroot/.dockerenv
cp -a /units/. /newroot/etc/systemd/system/
for u in $(cat /masked); do ln -sf /dev/null /newroot/etc/systemd/system/$u; done
echo husk-guest > /newroot/etc/hostname
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
mkdir -p /newroot/results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /newroot/results || exec sh
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
"""

UNITS = {
    "husk-test.target": """[Unit]
Description=husk test guest
Requires=husk-test.service
After=husk-test.service
AllowIsolate=yes
""",
    # No default dependencies anywhere on the way: sysinit.target would pull
    # in the host's udev, journald, fstab, timers and services.
    "husk-test.service": """[Unit]
Description=husk test command
DefaultDependencies=no
Requires=dbus.service
After=dbus.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
Environment=HUSK_IN_GUEST=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ExecStart=/bin/sh -c 'sh /results/command.sh >/results/output 2>&1; echo $? >/results/rc; sync'
StandardOutput=tty
StandardError=tty
""",
    "dbus.service.d/husk.conf": "[Unit]\nDefaultDependencies=no\n",
    "dbus.socket.d/husk.conf": "[Unit]\nDefaultDependencies=no\n",
}
# Started anyway by systemd's own setup, and slow or pointless here
# (systemd-tmpfiles-setup walked the host's tree for a minute).
MASKED = ["systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service",
          "systemd-journald.socket", "systemd-journald.service",
          "systemd-udevd.service", "systemd-udev-trigger.service",
          "systemd-timesyncd.service", "getty@.service", "serial-getty@.service"]


def _cpio(entries):
    """newc archive of (name, mode, data) entries; data None for dirs."""
    out = io.BytesIO()

    def hdr(name, mode, size, ino):
        n = name.encode() + b"\0"
        h = b"070701" + b"".join(b"%08X" % v for v in (
            ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(n), 0))
        out.write(h + n)
        out.write(b"\0" * (-(len(h) + len(n)) % 4))
    for ino, (name, mode, data) in enumerate(entries, 1):
        data = data or b""
        hdr(name, mode, len(data), ino)
        out.write(data)
        out.write(b"\0" * (-len(data) % 4))
    hdr("TRAILER!!!", 0, 0, 0)
    return out.getvalue()


def initramfs(version, cache=CACHE):
    mods = module_chain(version, MODULES)
    blobs = [(os.path.basename(m).split(".ko")[0] + ".ko", _module_bytes(m)) for m in mods]
    with open(BUSYBOX, "rb") as f:
        busybox = f.read()
    units = sorted(UNITS.items())
    key = _sha(busybox, INIT, repr(units), repr(MASKED),
               *[n.encode() + b for n, b in blobs])
    path = os.path.join(cache, "initrd-%s.cpio.gz" % key)
    if os.path.exists(path):
        return path
    d, f_ = stat.S_IFDIR | 0o755, stat.S_IFREG
    entries = [(n, d, None) for n in ("bin", "dev", "proc", "sys", "modules", "units")]
    entries += [("bin/busybox", f_ | 0o755, busybox), ("init", f_ | 0o755, INIT.encode()),
                ("modules/order", f_ | 0o644, "".join(n + "\n" for n, _ in blobs).encode()),
                ("masked", f_ | 0o644, "".join(u + "\n" for u in MASKED).encode())]
    entries += [("modules/" + n, f_ | 0o644, b) for n, b in blobs]
    for name in sorted({os.path.dirname(n) for n, _ in units if "/" in n}):
        entries.append(("units/" + name, d, None))
    entries += [("units/" + n, f_ | 0o644, t.encode()) for n, t in units]
    _write_atomic(path, gzip.compress(_cpio(entries), 6))
    return path


# ----------------------------------------------------------------- run --
def _tsc_khz():
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M)
    return int(float(m.group(1)) * 1000) if m else None


def _kvm_usable():
    # /dev/kvm can exist in a VM without nested virtualisation, where QEMU
    # then dies setting up the vCPU: the CPU flags tell.
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with open("/proc/cpuinfo") as f:
        return re.search(r"^flags\s*:.*\b(vmx|svm)\b", f.read(), re.M) is not None


def qemu_argv(kernel, initrd, results, cgroup="v2"):
    args = KERNEL_ARGS + " " + CGROUP_ARGS[cgroup]
    khz = _tsc_khz()
    if khz:
        args += " tsc_early_khz=%d" % khz
    accel = os.environ.get("HUSK_GUEST_ACCEL") or ("kvm" if _kvm_usable() else "tcg")
    return [QEMU, "-M", "microvm", "-accel", accel, "-cpu", "host" if accel == "kvm" else "max",
            "-smp", str(CPUS), "-m", str(MEMORY_MB), "-nodefaults", "-no-user-config",
            "-display", "none", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
            "-append", args, "-serial", "file:" + os.path.join(results, "console"),
            "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-device,fsdev=root,mount_tag=rootfs",
            "-fsdev", "local,id=res,path=%s,security_model=none,multidevs=remap" % results,
            "-device", "virtio-9p-device,fsdev=res,mount_tag=results"]


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def run(command, timeout=1800, results=None, cgroup="v2"):
    """Boots the guest with a cgroup layout of CGROUP_ARGS, runs command (sh)
    in it, returns a Result. Raises Unavailable when the guest cannot run
    here."""
    check_host()
    version, bz = find_kernel()
    kernel, initrd = vmlinux(bz), initramfs(version)
    results = results or tempfile.mkdtemp(prefix="husk-guest-")
    os.chmod(results, 0o755)
    with open(os.path.join(results, "command.sh"), "w") as f:
        f.write(command + "\n")
    start = time.monotonic()
    with open(os.path.join(results, "qemu.log"), "wb") as log:
        p = subprocess.Popen(qemu_argv(kernel, initrd, results, cgroup), stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        p.wait(timeout=timeout)
    finally:
        # timed out, or interrupted: this QEMU is ours, end it
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    seconds = time.monotonic() - start
    rc = _read(os.path.join(results, "rc")).strip()
    return Result(int(rc) if rc.lstrip("-").isdigit() else None,
                  _read(os.path.join(results, "output")), results,
                  _read(os.path.join(results, "console")) + _read(os.path.join(results, "qemu.log")),
                  seconds)


if __name__ == "__main__":
    r = run(" ".join(sys.argv[1:]) or "systemctl --version; cat /proc/self/cgroup",
            timeout=int(os.environ.get("HUSK_GUEST_TIMEOUT", "600")),
            cgroup=os.environ.get("HUSK_GUEST_CGROUP", "v2"))
    sys.stdout.write(r.output)
    if r.rc is None:
        sys.stdout.write("--- console ---\n" + r.console[-6000:])
    print("guest: rc=%s in %.1f s (results in %s)" % (r.rc, r.seconds, r.dir))
    sys.exit(1 if r.rc is None else r.rc)

"""Shared helpers for the engine suites (containerd and podman driving husk).

Self-contained on purpose: no imports from tests/integration, so the two
suites can run in one pytest invocation without module-name clashes.

- build_image_tar(): a busybox-static image as a docker-archive tar, made by
  hand (tar + sha256 + JSON), so no network and no registry are needed.  Both
  `ctr images import` and `podman load -i` accept it.
- Daemon: starts a daemon, remembers its PID, stops it by that PID only.
- cgroup and mount helpers used by the leak checks.
"""
import glob
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HUSK_BIN = os.path.abspath(os.environ.get("HUSK_BIN") or os.path.join(REPO, "build", "husk"))
HUSK_VM_NAME = "husk-vm"                # the name that selects micro-VM mode
BUSYBOX = "/bin/busybox"
IMAGE_REF = "localhost/husk-busybox:latest"
PAUSE_REF = "localhost/husk-pause:latest"      # a pod sandbox image: sleeps forever
PAUSE_CMD = ["sleep", "2147483647"]
CGROUP_PARENT = "husk-engines"          # every container lives under /<this>/...
SESSION_CGROUP = "%s/s%d" % (CGROUP_PARENT, os.getpid())   # this run's own parent
CGROUP_ROOT = "/sys/fs/cgroup"
MTIME = 1700000000                      # fixed, so the image digest is reproducible


def husk_agent():
    """VM mode's guest agent: $HUSK_AGENT, else husk-agent beside HUSK_BIN."""
    return os.environ.get("HUSK_AGENT") or os.path.join(
        os.path.dirname(os.path.realpath(HUSK_BIN)), "husk-agent")


def vm_skip_reason():
    """Why this machine cannot run husk's micro-VMs, or None (the same checks
    as tests/integration/test_vm.py, copied: this folder imports nothing
    from there)."""
    if os.path.basename(HUSK_BIN).startswith("runc"):
        return "runc has no VM mode"
    if not shutil.which("qemu-system-x86_64"):
        return "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)"
    if not glob.glob("/boot/vmlinuz-*") and not os.environ.get("HUSK_VM_KERNEL"):
        return "no guest kernel: /boot/vmlinuz-* is missing (Debian: linux-image-amd64)"
    if not os.access(husk_agent(), os.R_OK):
        return "the guest agent %s is not built" % husk_agent()
    return None


def qemu_pids_mentioning(path):
    """QEMU processes whose command line names path (a bundle's rootfs)."""
    return [pid for pid, cmd in processes_with_arg(path) if "qemu-system" in cmd]


def busybox_applets():
    out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout
    return sorted(set(a for a in out.split() if a and "/" not in a and a != "busybox"))


def _add(tar, name, kind, data=b"", mode=0o755, link=""):
    ti = tarfile.TarInfo(name)
    ti.mtime = MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mode = mode
    if kind == "dir":
        ti.type = tarfile.DIRTYPE
        tar.addfile(ti)
    elif kind == "sym":
        ti.type = tarfile.SYMTYPE
        ti.linkname = link
        ti.mode = 0o777
        tar.addfile(ti)
    else:
        ti.size = len(data)
        tar.addfile(ti, io.BytesIO(data))


def build_layer():
    """The one layer: busybox, a symlink per applet, /etc basics, empty mount points."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "dev", "etc", "proc", "sys", "tmp", "root", "var", "run", "home"):
            _add(tar, d, "dir", mode=0o1777 if d == "tmp" else 0o755)
        with open(BUSYBOX, "rb") as f:
            _add(tar, "bin/busybox", "file", f.read(), mode=0o755)
        for a in busybox_applets():
            _add(tar, "bin/" + a, "sym", link="busybox")
        _add(tar, "etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"
             b"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", mode=0o644)
        _add(tar, "etc/group", "file", b"root:x:0:\nnogroup:x:65534:\n", mode=0o644)
        _add(tar, "etc/hostname", "file", b"husk-busybox\n", mode=0o644)
    return buf.getvalue()


def build_image_tar(path, ref=IMAGE_REF, cmd=("sh",)):
    """Write a docker-archive tar (manifest.json + config + layer) to `path`.
    Returns the image config digest ("sha256:...")."""
    layer = build_layer()
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": list(cmd),
            "WorkingDir": "/",
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_hex]},
        "history": [{"created": "2023-11-14T22:13:20Z",
                     "created_by": "husk tests/engines: busybox-static, made by hand"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    manifest = [{"Config": config_hex + ".json", "RepoTags": [ref],
                 "Layers": [layer_hex + "/layer.tar"]}]
    tmp = path + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, layer_hex, "dir")
        _add(tar, layer_hex + "/VERSION", "file", b"1.0", mode=0o644)
        _add(tar, layer_hex + "/layer.tar", "file", layer, mode=0o644)
        _add(tar, config_hex + ".json", "file", config_bytes, mode=0o644)
        _add(tar, "manifest.json", "file", json.dumps(manifest).encode(), mode=0o644)
        _add(tar, "repositories", "file", json.dumps(
            {ref.rsplit(":", 1)[0]: {ref.rsplit(":", 1)[1]: layer_hex}}).encode(), mode=0o644)
    os.replace(tmp, path)
    return "sha256:" + config_hex


# ------------------------------------------------------------------ daemons --
class Daemon:
    """A background process we started; stopped by its own PID, never by name."""

    def __init__(self, argv, log_path, env=None, cwd=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode

    def tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


def wait_for(pred, timeout=20, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError("timed out waiting for " + what)


# -------------------------------------------------------- cgroups and mounts --
def cgroup_dirs(parent=CGROUP_PARENT):
    """Every existing <cgroupfs>/<parent> directory, v1 controllers and v2."""
    tops = glob.glob(os.path.join(CGROUP_ROOT, "*", parent))
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        tops += glob.glob(os.path.join(CGROUP_ROOT, parent))
    return [t for t in tops if os.path.isdir(t)]


def pids_under_cgroup_parent(parent=CGROUP_PARENT):
    pids = set()
    for top in cgroup_dirs(parent):
        for dirpath, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as f:
                        pids.update(int(x) for x in f.read().split())
                except OSError:
                    pass
    return sorted(pids)


def cgroup_children(parent=CGROUP_PARENT):
    """Paths (relative to the parent) of every child cgroup left under the parent."""
    left = set()
    for top in cgroup_dirs(parent):
        for dirpath, dirs, _files in os.walk(top):
            for d in dirs:
                left.add(os.path.relpath(os.path.join(dirpath, d), top))
    return sorted(left)


def remove_cgroup_tree(parent=CGROUP_PARENT):
    """rmdir the parent and any empty child, bottom-up (only our own parent)."""
    for top in cgroup_dirs(parent):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def mounts_under(path):
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def unmount_under(path):
    """Lazily unmount whatever is left under `path` (deepest first)."""
    for mp in sorted(mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def processes_with_arg(needle):
    """PIDs whose command line contains `needle` (to spot shims/conmon we caused)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            found.append((int(d), cmd.strip()))
    return found


def rmtree_if_unmounted(path):
    if mounts_under(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True


if __name__ == "__main__":
    # python3 tests/engines/engine_util.py OUT.tar [REF]: write the busybox
    # image tar without network (for `ctr images import` or `podman load -i`)
    import sys
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: engine_util.py OUT.tar [REF (default %s)]" % IMAGE_REF)
    build_image_tar(sys.argv[1], *sys.argv[2:])
    print("%s: %s" % (sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else IMAGE_REF))

"""The engines under test, started and stopped by the fixtures in conftest.py:
a containerd daemon of our own, and podman with a private root.

Everything is stopped by the PID we started; see conftest.py for the rules.
"""
import os
import shutil
import subprocess
import time

import pytest

import engine_util as eu

SESSION_CGROUP = eu.SESSION_CGROUP


def need_binaries(*names):
    missing = [n for n in names if not shutil.which(n)]
    if missing:
        # tests/install-deps.sh installs them; only a machine where the
        # packages cannot be installed at all gets here.
        pytest.skip("not installed: %s (apt-get install containerd podman conmon)"
                    % " ".join(missing))


def leak_report(extra_pids=(), mount_root=None):
    """Whatever is left in our cgroups or mounted under mount_root."""
    problems = []
    pids = eu.pids_under_cgroup_parent(SESSION_CGROUP)
    if pids:
        problems.append("processes left in /%s: %s" % (SESSION_CGROUP, pids))
    if extra_pids:
        problems.append("engine processes left: %s" % list(extra_pids))
    if mount_root:
        m = eu.mounts_under(mount_root)
        if m:
            problems.append("mounts left: %s" % m)
    return problems


# -------------------------------------------------------------- containerd --
class Containerd:
    NAMESPACE = "husk-eng-%d" % os.getpid()

    def __init__(self, base, husk, image_tars, extra_config="", cri=False):
        self.base = base
        self.husk = husk
        os.makedirs(base)
        self.sock = os.path.join(base, "containerd.sock")
        self.config = os.path.join(base, "config.toml")
        self.state = os.path.join(base, "state")
        self.fifo_dir = os.path.join(base, "fifo")
        self.namespace = "k8s.io" if cri else self.NAMESPACE
        # containerd 1.6 hard-codes /run/containerd/{s,fifo,runc} for shims
        self.run_dirs_before = {p for p in ("/run/containerd", "/run/containerd/s",
                                            "/run/containerd/fifo", "/run/containerd/runc")
                                if os.path.exists(p)}
        with open(self.config, "w") as f:
            f.write(self.make_config(base, cri) + extra_config)
        self.daemon = eu.Daemon(["containerd", "--config", self.config],
                                os.path.join(base, "containerd.log"))
        try:
            eu.wait_for(lambda: not self.daemon.alive() or self._ready(), timeout=30,
                        what="containerd to serve")
        except TimeoutError:
            self.daemon.stop()
            raise
        if not self.daemon.alive():
            raise RuntimeError("containerd exited:\n" + self.daemon.tail())
        for tar in image_tars:
            r = self.ctr("images", "import", tar, timeout=120)
            assert r.returncode == 0, r.stderr

    @staticmethod
    def make_config(base, cri):
        cfg = ('version = 2\n'
               'root = "{b}/root"\n'
               'state = "{b}/state"\n'
               'plugin_dir = ""\n'
               'disabled_plugins = [{dis}]\n'
               '[grpc]\n  address = "{b}/containerd.sock"\n'
               '[ttrpc]\n  address = "{b}/containerd.sock.ttrpc"\n'
               '[debug]\n  address = "{b}/debug.sock"\n'
               '[plugins."io.containerd.internal.v1.opt"]\n  path = "{b}/opt"\n')
        dis = ['"io.containerd.snapshotter.v1.btrfs"', '"io.containerd.snapshotter.v1.zfs"',
               '"io.containerd.snapshotter.v1.aufs"', '"io.containerd.snapshotter.v1.devmapper"']
        if not cri:
            dis.append('"io.containerd.grpc.v1.cri"')
        return cfg.format(b=base, dis=", ".join(dis))

    def _ready(self):
        if not os.path.exists(self.sock):
            return False
        return self.ctr("version", timeout=10, check_ns=False).returncode == 0

    def ctr_argv(self, check_ns=True):
        argv = ["ctr", "--address", self.sock]
        if check_ns:
            argv += ["--namespace", self.namespace]
        return argv

    def with_fifo_dir(self, args):
        """ctr keeps a detached exec's fifos; keep them in our dir, not /run/containerd/fifo."""
        args = list(args)
        if args[:1] == ["run"]:
            return args[:1] + ["--fifo-dir", self.fifo_dir] + args[1:]
        if args[:2] == ["task", "exec"]:
            return args[:2] + ["--fifo-dir", self.fifo_dir] + args[2:]
        return args

    def ctr(self, *args, timeout=60, input=None, check_ns=True):
        argv = self.ctr_argv(check_ns)
        return subprocess.run(argv + self.with_fifo_dir(args), capture_output=True, text=True,
                              timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def run_args(self, cid, *opts, runtime_opts=None):
        """`ctr run` options that select husk and a cgroup of our own."""
        if runtime_opts is None:
            runtime_opts = ["--runc-binary", self.husk]
        return (["run"] + list(opts) + runtime_opts +
                ["--cgroup", "/%s/%s" % (SESSION_CGROUP, cid), eu.IMAGE_REF, cid])

    def containers(self):
        r = self.ctr("containers", "list", "--quiet")
        return r.stdout.split()

    def remove_all(self):
        for cid in self.containers():
            self.ctr("task", "kill", "--all", "--signal", "SIGKILL", cid, timeout=20)
            for _ in range(100):
                st = self.ctr("task", "ls")
                if cid not in st.stdout or "STOPPED" in _row(st.stdout, cid):
                    break
                time.sleep(0.05)
            self.ctr("task", "delete", "--force", cid, timeout=20)
            self.ctr("containers", "delete", cid, timeout=20)

    def shims(self):
        return [pid for pid, _cmd in eu.processes_with_arg(self.sock)]

    def leaks(self):
        problems = []
        left = self.containers()
        if left:
            problems.append("containers left: %s" % left)
        root = "/run/containerd/runc/" + self.namespace
        if os.path.isdir(root):
            r = subprocess.run([self.husk, "--root", root, "list", "--quiet"],
                               capture_output=True, text=True, timeout=20)
            if r.stdout.split():
                problems.append("husk state left in %s: %s" % (root, r.stdout.split()))
        # a shim exits shortly after its last container is deleted
        try:
            eu.wait_for(lambda: not self.shims(), timeout=10, what="shims to exit")
        except TimeoutError:
            pass
        problems += leak_report(self.shims(), os.path.join(self.state))
        return problems

    def close(self):
        self.remove_all()
        rc = self.daemon.stop()
        for pid in self.shims():     # shims our daemon started, by PID
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        eu.unmount_under(self.base)
        root = "/run/containerd/runc/" + self.namespace
        for d in (root, "/run/containerd/runc", "/run/containerd/fifo",
                  "/run/containerd/s", "/run/containerd"):
            if d not in self.run_dirs_before:
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        return rc


def _row(table, cid):
    for line in table.splitlines():
        if line.split()[:1] == [cid]:
            return line
    return ""


# ------------------------------------------------------------------ podman --
CONTAINERS_CONF = """\
[containers]
# root here lacks CAP_SYS_RESOURCE: podman's default ulimits cannot be raised
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "husk", "husk-vm"]
"""


class Podman:
    def __init__(self, base, husk, image_tar):
        self.base = base
        self.husk = husk
        os.makedirs(base)
        for d in ("root", "runroot", "tmp"):
            os.makedirs(os.path.join(base, d))
        self.conf = os.path.join(base, "containers.conf")
        with open(self.conf, "w") as f:
            f.write(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=self.conf)
        # podman load keeps a blob-info cache in /var/lib/containers/cache, its
        # network backend makes /etc/cni/net.d/cni.lock even with --network
        # none, and husk's default root /run/husk holds podman's containers
        # (podman passes husk no --root): remove them afterwards if they were
        # not there before
        self.outside = [p for p in ("/var/lib/containers/cache/blob-info-cache-v1.boltdb",
                                    "/var/lib/containers/cache", "/var/lib/containers",
                                    "/etc/cni/net.d/cni.lock", "/run/husk")
                        if not os.path.exists(p)]
        self.cgroup_parent = "/" + SESSION_CGROUP
        r = self.podman("load", "-i", image_tar, timeout=120)
        assert r.returncode == 0, r.stderr

    def argv(self):
        b = self.base
        return ["podman", "--root", b + "/root", "--runroot", b + "/runroot",
                "--tmpdir", b + "/tmp", "--storage-driver", "overlay",
                "--runtime", self.husk, "--cgroup-manager", "cgroupfs",
                "--events-backend", "file"]

    def podman(self, *args, timeout=60, input=None):
        return subprocess.run(self.argv() + list(args), capture_output=True, text=True,
                              timeout=timeout, env=self.env, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def run_opts(self):
        return ["--network", "none", "--cgroup-parent", self.cgroup_parent]

    def conmons(self):
        return [pid for pid, cmd in eu.processes_with_arg(self.base)
                if "conmon" in cmd.split()[0]]

    def remove_all(self):
        self.podman("rm", "--all", "--force", "--time", "0", timeout=60)

    def leaks(self):
        problems = []
        left = self.podman("ps", "--all", "--quiet").stdout.split()
        if left:
            problems.append("containers left: %s" % left)
        try:
            eu.wait_for(lambda: not self.conmons(), timeout=10, what="conmon to exit")
        except TimeoutError:
            pass
        # the storage driver keeps its own private bind mount of <root>/overlay
        mounts = [m for m in eu.mounts_under(self.base)
                  if m != os.path.join(self.base, "root", "overlay")]
        if mounts:
            problems.append("mounts left: %s" % mounts)
        problems += leak_report(self.conmons())
        return problems

    def close(self):
        self.remove_all()
        for pid in self.conmons():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        eu.unmount_under(self.base)
        for p in self.outside:
            try:
                if os.path.isdir(p):
                    os.rmdir(p)          # only when empty
                elif os.path.exists(p):
                    os.unlink(p)
            except OSError:
                pass

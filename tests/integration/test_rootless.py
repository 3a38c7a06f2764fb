"""Rootless: husk run by an unprivileged user the suite creates.

The session makes a user husk-rl-<pid> with a home, /etc/subuid and
/etc/subgid ranges, and removes it (and its ranges, containers and files)
at the end even when tests fail. Each bundle comes from `spec --rootless`
run as that user, with a busybox rootfs it owns; husk runs through setpriv
with XDG_RUNTIME_DIR set to a directory of its own. The whole module skips,
saying why, where the suite is not root or the kernel refuses unprivileged
user namespaces.
"""
import json
import os
import pwd
import shutil
import subprocess
import time

import pytest

from helpers.bundle import make_rootfs
from helpers.runtime import Runtime

TIMEOUT = 60


def _run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def _subid_range(path, name):
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[0] == name:
                    return int(parts[1]), int(parts[2])
    except OSError:
        pass
    return None


def _free_subid_base():
    end = 100000
    for path in ("/etc/subuid", "/etc/subgid"):
        try:
            with open(path) as f:
                for line in f:
                    parts = line.strip().split(":")
                    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                        end = max(end, int(parts[1]) + int(parts[2]))
        except OSError:
            pass
    return end


class User:
    """The test user, and husk run as it."""

    def __init__(self, name, session_dir, binary):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid, self.home = name, pw.pw_uid, pw.pw_gid, pw.pw_dir
        self.dir = os.path.join(session_dir, "rootless")
        self.xdg = os.path.join(self.dir, "xdg")
        self.bundles = os.path.join(self.dir, "bundles")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs)
        for d in (self.dir, self.xdg, self.bundles):
            os.makedirs(d, exist_ok=True)
            os.chown(d, self.uid, self.gid)
        os.chmod(self.dir, 0o755)
        os.chmod(self.xdg, 0o700)
        # A copy the user may run wherever the checkout lives (/root, ...).
        self.binary = os.path.join(self.dir, os.path.basename(binary))
        shutil.copy2(binary, self.binary)
        r = _run([binary, "--version"])
        self.is_runc = r.stdout.startswith("runc ")
        os.chmod(self.binary, 0o755)
        self.subuid = _subid_range("/etc/subuid", name)
        self.subgid = _subid_range("/etc/subgid", name)
        self.rt = Runtime(self.binary, None, self.logs)
        self.seq = 0

    @property
    def state_dir(self):
        return os.path.join(self.xdg, "runc" if self.is_runc else "husk")

    def env(self, xdg=True):
        env = dict(os.environ, HOME=self.home, USER=self.name, LOGNAME=self.name)
        env.pop("XDG_RUNTIME_DIR", None)
        if xdg:
            env["XDG_RUNTIME_DIR"] = self.xdg
        return env

    def argv(self, *args):
        return ["setpriv", "--reuid", str(self.uid), "--regid", str(self.gid),
                "--init-groups", "--"] + [str(a) for a in args]

    def sh(self, *args, **kw):
        """Any command as the user."""
        return self.rt.raw(self.argv(*args), timeout=TIMEOUT, env=self.env(), **kw)

    def husk(self, *args, xdg=True, cwd=None):
        return self.rt.raw(self.argv(self.binary, *args), timeout=TIMEOUT,
                           env=self.env(xdg), cwd=cwd)

    def bundle(self, *args):
        """A bundle from `spec --rootless`, run as the user, with args."""
        self.seq += 1
        cid = "rl-%d-%d" % (os.getpid(), self.seq)
        path = os.path.join(self.bundles, cid)
        make_rootfs(os.path.join(path, "rootfs"))
        _chown_tree(path, self.uid, self.gid)
        r = self.husk("spec", "--rootless", "--bundle", path)
        assert r.returncode == 0, r.stderr
        b = UserBundle(self, path, cid)
        b.config["process"]["terminal"] = False
        b.config["process"]["args"] = list(args) or ["true"]
        return b.save()

    def fresh_dir(self):
        self.seq += 1
        d = os.path.join(self.dir, "d-%d" % self.seq)
        os.mkdir(d)
        os.chown(d, self.uid, self.gid)
        return d

    def containers(self):
        try:
            return sorted(os.listdir(self.state_dir))
        except OSError:
            return []


class UserBundle:
    def __init__(self, user, path, cid):
        self.user, self.path, self.id = user, path, cid
        self.rootfs = os.path.join(path, "rootfs")
        with open(os.path.join(path, "config.json")) as f:
            self.config = json.load(f)

    def save(self):
        p = os.path.join(self.path, "config.json")
        with open(p, "w") as f:
            json.dump(self.config, f, indent=2)
        os.chown(p, self.user.uid, self.user.gid)
        return self

    def run(self, *extra):
        self.save()
        return self.user.husk("run", "--bundle", self.path, *extra, self.id)

    def create(self):
        self.save()
        return self.user.husk("create", "--bundle", self.path, self.id)


def _chown_tree(top, uid, gid):
    for dirpath, dirnames, filenames in os.walk(top):
        os.lchown(dirpath, uid, gid)
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), uid, gid)


def _remove_user(name, user):
    if user is not None:
        for cid in user.containers():
            try:
                user.husk("delete", "--force", cid)
            except subprocess.TimeoutExpired:
                pass
    for flag, path in (("--del-subuids", "/etc/subuid"), ("--del-subgids", "/etc/subgid")):
        rng = _subid_range(path, name)
        if rng:
            _run(["usermod", flag, "%d-%d" % (rng[0], rng[0] + rng[1] - 1), name])
    _run(["userdel", "-r", "-f", name])


@pytest.fixture(scope="module")
def user(session, husk_bin):
    if os.geteuid() != 0:
        pytest.skip("rootless tests create a user: the suite must run as root")
    for tool in ("useradd", "userdel", "usermod", "setpriv"):
        if not shutil.which(tool):
            pytest.skip("rootless tests need %s" % tool)
    name = "husk-rl-%d" % os.getpid()
    r = _run(["useradd", "--create-home", "--shell", "/bin/sh", name])
    if r.returncode != 0:
        pytest.skip("useradd %s failed: %s" % (name, r.stderr.strip()))
    u = None
    try:
        # Debian's useradd gives new users ranges; make sure of them.
        if not _subid_range("/etc/subuid", name) or not _subid_range("/etc/subgid", name):
            base = _free_subid_base()
            rng = "%d-%d" % (base, base + 65535)
            _run(["usermod", "--add-subuids", rng, "--add-subgids", rng, name])
        u = User(name, session.dir, husk_bin)
        probe = u.sh("unshare", "--user", "--map-root-user", "true")
        if probe.returncode != 0:
            sysctl = "/proc/sys/kernel/unprivileged_userns_clone"
            extra = (" (kernel.unprivileged_userns_clone=%s)" % open(sysctl).read().strip()
                     if os.path.exists(sysctl) else "")
            pytest.skip("unprivileged user namespaces are refused here%s: %s"
                        % (extra, probe.stderr.strip()))
        yield u
    finally:
        _remove_user(name, u)
        assert name not in open("/etc/passwd").read()
        assert not _subid_range("/etc/subuid", name)


def _wait_status(user, cid, status, timeout=15):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = user.husk("state", cid)
        if r.returncode == 0:
            last = json.loads(r.stdout)
            if last["status"] == status:
                return last
        time.sleep(0.05)
    raise AssertionError("%s never reached %r (last %r)" % (cid, status, last))


def _status_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("Uid", "Gid"):
                ids[key] = [int(v) for v in val.split()]
    return ids


# ------------------------------------------------------------------- tests --
def test_run_echo(user):
    b = user.bundle("echo", "hello from rootless")
    r = b.run()
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from rootless\n"
    assert user.containers() == []


def test_root_inside_is_the_user_outside(user):
    b = user.bundle("sh", "-c", "id -u; id -g; sleep 300")
    r = b.run("--detach")
    assert r.returncode == 0, r.stderr
    try:
        st = _wait_status(user, b.id, "running")
        pid = st["pid"]
        ids = _status_ids(pid)
        assert ids["Uid"] == [user.uid] * 4
        assert ids["Gid"] == [user.gid] * 4
        with open("/proc/%d/uid_map" % pid) as f:
            assert f.read().split() == ["0", str(user.uid), "1"]
        with open("/proc/%d/setgroups" % pid) as f:
            assert f.read().strip() == "deny"   # the price of a self-mapped gid_map
        r = user.husk("exec", b.id, "id", "-u")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "0"
    finally:
        user.husk("delete", "--force", b.id)
    assert user.containers() == []


def test_devices_are_the_hosts_nodes(user):
    """No mknod in a user namespace: /dev/null and friends are bind mounts."""
    b = user.bundle("sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 "
                    "&& grep -c ' /dev/null ' /proc/self/mountinfo")
    r = b.run()
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[:4] == ["00"] * 4
    assert out[4] == "1"


def test_subuid_mapping_through_newuidmap(user):
    """More than the user's own id needs newuidmap/newgidmap and /etc/sub[ug]id."""
    if not shutil.which("newuidmap") or not shutil.which("newgidmap"):
        pytest.skip("newuidmap/newgidmap missing (Debian package uidmap)")
    if not user.subuid or not user.subgid:
        pytest.skip("no /etc/subuid or /etc/subgid range for the test user")
    (ubase, ucount), (gbase, gcount) = user.subuid, user.subgid
    size = min(ucount, gcount, 65536)
    b = user.bundle("touch", "/tmp/owned-by-1000")
    b.config["root"]["readonly"] = False
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": user.uid, "size": 1},
                                        {"containerID": 1, "hostID": ubase, "size": size}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": user.gid, "size": 1},
                                        {"containerID": 1, "hostID": gbase, "size": size}]
    r = b.run()
    assert r.returncode == 0, r.stderr
    st = os.stat(os.path.join(b.rootfs, "tmp", "owned-by-1000"))
    assert (st.st_uid, st.st_gid) == (ubase + 999, gbase + 999)


def test_mapping_outside_the_subuid_range_fails_clearly(user):
    if not shutil.which("newuidmap"):
        pytest.skip("newuidmap missing (Debian package uidmap)")
    b = user.bundle("true")
    # Somebody else's ids: never in the user's range.
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": user.uid, "size": 1},
                                        {"containerID": 1, "hostID": 1, "size": 10}]
    r = b.run()
    assert r.returncode != 0
    if not user.is_runc:
        assert "linux.uidMappings" in r.stderr and "newuidmap" in r.stderr
    assert user.containers() == []


def test_lifecycle_state_list_kill_delete(user):
    b = user.bundle("sleep", "300")
    r = b.create()
    assert r.returncode == 0, r.stderr
    try:
        st = _wait_status(user, b.id, "created")
        assert st["pid"] > 0
        assert os.path.isdir(os.path.join(user.state_dir, b.id))
        r = user.husk("start", b.id)
        assert r.returncode == 0, r.stderr
        _wait_status(user, b.id, "running")
        r = user.husk("list", "--format", "json")
        assert r.returncode == 0, r.stderr
        assert [c["id"] for c in json.loads(r.stdout)] == [b.id]
        r = user.husk("kill", b.id, "KILL")
        assert r.returncode == 0, r.stderr
        _wait_status(user, b.id, "stopped")
        r = user.husk("delete", b.id)
        assert r.returncode == 0, r.stderr
        assert user.husk("state", b.id).returncode != 0
        assert not os.path.exists("/proc/%d" % st["pid"]) or \
            open("/proc/%d/stat" % st["pid"]).read().split(")")[1].split()[0] == "Z"
    finally:
        user.husk("delete", "--force", b.id)
    assert user.containers() == []


@pytest.mark.husk_only
def test_state_lives_under_xdg_runtime_dir(user):
    b = user.bundle("sleep", "300")
    r = b.create()
    assert r.returncode == 0, r.stderr
    try:
        path = os.path.join(user.xdg, "husk", b.id, "state.json")
        with open(path) as f:
            assert json.load(f)["id"] == b.id
        assert os.stat(os.path.join(user.xdg, "husk")).st_uid == user.uid
    finally:
        user.husk("delete", "--force", b.id)


@pytest.mark.husk_only
def test_no_xdg_runtime_dir_and_no_root_is_a_clear_error(user):
    r = user.husk("list", xdg=False)
    assert r.returncode != 0
    assert "XDG_RUNTIME_DIR" in r.stderr and "--root" in r.stderr
    r = user.husk("spec", "--rootless", "--bundle", user.fresh_dir(), xdg=False)
    assert r.returncode == 0, r.stderr   # spec keeps no state


def _cgroup_lines(text):
    return sorted(l for l in text.splitlines() if l)


def test_runs_without_a_cgroup(user):
    """This host lets no user write its cgroups: the container stays in the
    caller's, and nothing is made under /sys/fs/cgroup."""
    b = user.bundle("sleep", "300")
    r = b.run("--detach")
    assert r.returncode == 0, r.stderr
    try:
        pid = _wait_status(user, b.id, "running")["pid"]
        with open("/proc/%d/cgroup" % pid) as f:
            inside = _cgroup_lines(f.read())
        r = user.sh("cat", "/proc/self/cgroup")
        assert inside == _cgroup_lines(r.stdout)
        made = [p for line in inside
                for p in [line.split(":", 2)[2].rstrip("/") + "/" + b.id]
                if any(os.path.exists(d + p) for d in
                       ["/sys/fs/cgroup/" + c for c in os.listdir("/sys/fs/cgroup")] +
                       ["/sys/fs/cgroup"])]
        assert made == []
        if not user.is_runc:   # without a cgroup, ps and kill --all use the pid namespace
            r = user.husk("exec", "--detach", b.id, "sleep", "301")
            assert r.returncode == 0, r.stderr
            r = user.husk("ps", "--format", "json", b.id)
            assert r.returncode == 0, r.stderr
            assert len(json.loads(r.stdout)) == 2
            r = user.husk("pause", b.id)
            assert r.returncode != 0 and "freez" in r.stderr
            r = user.husk("update", "--memory", "100m", b.id)
            assert r.returncode != 0 and "no cgroup" in r.stderr
    finally:
        user.husk("delete", "--force", b.id)
    assert user.containers() == []


def test_memory_limit_without_a_cgroup_fails_and_leaves_nothing(user):
    b = user.bundle("true")
    b.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}}
    before = set(os.listdir("/proc"))
    r = b.run()
    assert r.returncode != 0
    if not user.is_runc:
        assert "linux.resources.memory.limit" in r.stderr, r.stderr
        assert "cgroup" in r.stderr
    assert user.containers() == []
    new = [p for p in set(os.listdir("/proc")) - before if p.isdigit()]
    left = []
    for p in new:
        try:
            if os.stat("/proc/" + p).st_uid == user.uid:
                left.append(p)
        except OSError:
            pass
    assert left == []


@pytest.mark.husk_only
def test_device_rules_and_zero_values_are_not_limits(user):
    """runc's reading: device rules and unset (0) values need no cgroup."""
    b = user.bundle("true")
    b.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}],
                                      "memory": {"limit": 0}, "cpu": {"shares": 0}}
    r = b.run()
    assert r.returncode == 0, r.stderr


@pytest.mark.husk_only
def test_rootless_false_makes_cgroup_failures_errors(user):
    b = user.bundle("true")
    b.save()
    r = user.husk("--rootless=false", "run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert "cgroup" in r.stderr and "Permission denied" in r.stderr
    assert user.containers() == []
    r = user.husk("--rootless=maybe", "list")
    assert r.returncode != 0 and "--rootless" in r.stderr


@pytest.mark.husk_only
def test_config_without_a_user_namespace_is_refused(user):
    b = user.bundle("true")
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != "user"]
    del b.config["linux"]["uidMappings"]
    del b.config["linux"]["gidMappings"]
    r = b.run()
    assert r.returncode != 0
    assert "linux.namespaces" in r.stderr and "user namespace" in r.stderr
    assert user.containers() == []


@pytest.mark.husk_only
def test_unmapped_mount_gid_is_refused(user):
    b = user.bundle("true")
    pts = [m for m in b.config["mounts"] if m["destination"] == "/dev/pts"][0]
    pts["options"].append("gid=5")
    r = b.run()
    assert r.returncode != 0
    assert "gid=5" in r.stderr and "linux.gidMappings" in r.stderr


def test_spec_rootless_maps_the_caller(user):
    d = user.fresh_dir()
    r = user.husk("spec", "--rootless", "--bundle", d)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": user.uid, "size": 1}]
    assert cfg["linux"]["gidMappings"] == [{"containerID": 0, "hostID": user.gid, "size": 1}]
    assert "network" not in [n["type"] for n in cfg["linux"]["namespaces"]]
    assert "resources" not in cfg["linux"]


def test_user_owns_what_it_made(user):
    """Nothing a rootless create makes belongs to root."""
    b = user.bundle("sleep", "300")
    r = b.create()
    assert r.returncode == 0, r.stderr
    try:
        made = [os.path.join(dirpath, n) for dirpath, dirnames, filenames in os.walk(user.xdg)
                for n in dirnames + filenames]
        assert os.path.join(user.state_dir, b.id) in made
        assert [p for p in made if os.lstat(p).st_uid != user.uid] == []
    finally:
        user.husk("delete", "--force", b.id)

"""OCI bundle factory: a busybox-static rootfs plus a config.json.

`default_config()` reproduces what `runc spec` writes (runc 1.1), written in
Python so the suite does not depend on the runtime under test to make its own
inputs.  Tests edit `Bundle.config` (a plain dict) and call `Bundle.save()`.
"""
import copy
import json
import os
import shutil

BUSYBOX = "/bin/busybox"

# Applets linked into every rootfs (busybox-static provides them all).
APPLETS = [
    "sh", "ash", "ls", "cat", "echo", "id", "sleep", "ps", "mount", "umount",
    "grep", "hostname", "true", "false", "env", "pwd", "touch", "mkdir",
    "rmdir", "rm", "stat", "readlink", "wc", "head", "tail", "tty", "stty",
    "df", "mknod", "uname", "kill", "chmod", "chown", "ln", "cp", "mv", "dd",
    "test", "[", "printf", "sed", "awk", "cut", "tr", "sort", "find", "xargs",
    "dnsdomainname", "sysctl", "whoami", "nproc", "uptime", "date", "seq",
    "timeout", "setsid", "yes", "od", "hexdump", "basename", "dirname",
    "which", "usleep", "tee", "ip", "ifconfig", "nsenter", "unshare",
    "realpath", "mktemp", "expr",
]

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "user:x:1000:1000:user:/home/user:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = (
    "root:x:0:\n"
    "tty:x:5:\n"
    "wheel:x:10:\n"
    "dialout:x:20:\n"
    "user:x:1000:\n"
    "nogroup:x:65534:\n"
)


def default_config():
    """The config.json `runc spec` writes (runc 1.1.x), as a dict."""
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": list(DEFAULT_CAPS),
                "effective": list(DEFAULT_CAPS),
                "permitted": list(DEFAULT_CAPS),
                "ambient": list(DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666",
                         "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"},
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger",
            ],
        },
    }


def make_rootfs(rootfs):
    """Populate `rootfs` with busybox, its applet links and a few /etc files."""
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "root", "home/user", "mnt"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(rootfs, "bin", "busybox"))
    for applet in APPLETS:
        link = os.path.join(rootfs, "bin", applet)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(rootfs, "etc", "group"), "w") as f:
        f.write(GROUP)
    with open(os.path.join(rootfs, "etc", "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n")
    os.chown(os.path.join(rootfs, "home", "user"), 1000, 1000)


class Bundle:
    """A bundle directory.  `id` is the unique container id reserved for it;
    its cgroupsPath is cgroups_path(id): "/husk-tests-<pid>/<id>", or
    "husk-tests-<pid>.slice:husk:<id>" under HUSK_CGROUP_MANAGER=systemd."""

    def __init__(self, path, cid, args=None):
        self.path = path
        self.id = cid
        self.rootfs = os.path.join(path, "rootfs")
        self.config = default_config()
        self.config["process"]["terminal"] = False
        self.config["linux"]["cgroupsPath"] = cgroups_path(cid)
        if args is not None:
            self.config["process"]["args"] = list(args)

    # -- convenience editors -------------------------------------------------
    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)
        return self

    def add_mount(self, destination, type_, source, options=None):
        m = {"destination": destination, "type": type_, "source": source}
        if options is not None:
            m["options"] = list(options)
        self.config["mounts"].append(m)
        return self

    @property
    def cgroup(self):
        """The container's cgroup below the hierarchy root ("/a/b")."""
        return cgroup_of(self.config)

    def namespaces(self):
        return [n["type"] for n in self.config["linux"]["namespaces"]]

    def add_namespace(self, type_, path=None):
        self.remove_namespace(type_)
        ns = {"type": type_}
        if path is not None:
            ns["path"] = path
        self.config["linux"]["namespaces"].append(ns)
        return self

    def remove_namespace(self, type_):
        self.config["linux"]["namespaces"] = [
            n for n in self.config["linux"]["namespaces"] if n["type"] != type_]
        return self

    def use_id(self, cid):
        """Re-target the bundle at another container id (and its cgroup)."""
        self.id = cid
        self.config["linux"]["cgroupsPath"] = cgroups_path(cid)
        return self

    def save(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=2)
        return self

    def copy_config(self):
        return copy.deepcopy(self.config)


# One parent per test session, so that suites running side by side (CI,
# developers, benchmarks) never count each other's containers as leaks.
CGROUP_PARENT = os.environ.get("HUSK_TEST_CGROUP_PARENT") or "husk-tests-%d" % os.getpid()

# HUSK_CGROUP_MANAGER=systemd runs the suite with the systemd cgroup
# manager: every runtime call gets --systemd-cgroup (GLOBAL_ARGS) and every
# container a "slice:prefix:name" cgroupsPath in a slice of the session.
CGROUP_MANAGER = os.environ.get("HUSK_CGROUP_MANAGER") or "cgroupfs"
SYSTEMD = CGROUP_MANAGER == "systemd"
GLOBAL_ARGS = ["--systemd-cgroup"] if SYSTEMD else []
TEST_SLICE = CGROUP_PARENT + ".slice"


def cgroups_path(cid):
    if SYSTEMD:
        return "%s:husk:%s" % (TEST_SLICE, cid)
    return "/%s/%s" % (CGROUP_PARENT, cid)


def expand_slice(slice_):
    """systemd's directory for a slice: "a-b.slice" is /a.slice/a-b.slice."""
    if slice_ == "-.slice":
        return ""
    stem = slice_[:-len(".slice")]
    parts = stem.split("-")
    return "".join("/%s.slice" % "-".join(parts[:i + 1]) for i in range(len(parts)))


def cgroup_of(config):
    """Where a config's container cgroup is, below the hierarchy root."""
    path = config.get("linux", {}).get("cgroupsPath", "")
    if ":" not in path:
        return path
    slice_, prefix, name = path.split(":")
    unit = "%s-%s.scope" % (prefix, name) if prefix else name + ".scope"
    return "%s/%s" % (expand_slice(slice_ or "system.slice"), unit)


# Where every test container's cgroup lives, below the hierarchy root.
TEST_CGROUP_ROOT = expand_slice(TEST_SLICE) if SYSTEMD else "/" + CGROUP_PARENT

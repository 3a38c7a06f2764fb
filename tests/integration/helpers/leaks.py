"""Leak checker: what a runtime may leave behind on the machine.

A snapshot records
  - mounts:  /proc/self/mountinfo lines that mention the session's temp dir
             or husk-tests,
  - cgroups: every directory below the session's test cgroup parent
             (/sys/fs/cgroup/*/husk-tests-<pid>, or its systemd slice),
  - procs:   processes that belong to us: children of the test runner, any
             process in a cgroup under husk-tests, any process whose root,
             cwd or command line lies in the session's temp dir, and runtime
             processes (the binary, or runc's memfd copy of it) descending
             from such a process (other users of the runtime on the machine
             are not counted),
  - state:   entries in the private --root state directory,
  - fds:     the test runner's own open file descriptors.
`diff(before, after)` lists what is new; `assert_clean` retries briefly
(processes take a moment to be reaped) and fails with the details.
"""
import glob
import os
import time

from .bundle import CGROUP_PARENT, TEST_CGROUP_ROOT

CGROUP_GLOBS = ["/sys/fs/cgroup/*" + TEST_CGROUP_ROOT, "/sys/fs/cgroup" + TEST_CGROUP_ROOT]


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


def husk_test_cgroups():
    found = set()
    for top in CGROUP_GLOBS:
        for base in glob.glob(top):
            for dirpath, dirnames, _ in os.walk(base):
                for d in dirnames:
                    found.add(os.path.join(dirpath, d))
    return found


class LeakChecker:
    def __init__(self, tmpdir, state_root, binary):
        self.tmpdir = os.path.realpath(tmpdir)
        self.state_root = state_root
        self.binary = os.path.realpath(binary)
        self.name = os.path.basename(self.binary)
        self.me = os.getpid()

    def mounts(self):
        out = set()
        for line in _read("/proc/self/mountinfo").splitlines():
            if self.tmpdir in line or CGROUP_PARENT in line:
                out.add(line.split(" ", 4)[4])
        return out

    def procs(self):
        table = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            pid = int(d)
            stat = _read("/proc/%d/stat" % pid)
            if not stat:
                continue
            try:
                rest = stat.rsplit(")", 1)[1].split()
                table[pid] = (int(rest[1]), rest[0])
            except (IndexError, ValueError):
                continue
        cmdlines = {}

        def cmdline(pid):
            if pid not in cmdlines:
                cmdlines[pid] = _read("/proc/%d/cmdline" % pid, "rb").replace(
                    b"\0", b" ").decode("utf-8", "replace").strip()
            return cmdlines[pid]

        def ours_by_ancestry(pid):
            # a runtime process of this session: it (or an ancestor) is the
            # test runner or mentions the session's temp dir (--root, --bundle)
            seen = 0
            while pid > 1 and seen < 64:
                if pid == self.me or self.tmpdir in cmdline(pid):
                    return True
                pid = table.get(pid, (0, ""))[0]
                seen += 1
            return False

        found = set()
        for pid, (ppid, state) in table.items():
            if pid == self.me:
                continue
            if state == "Z" and ppid == self.me:
                continue  # our own unreaped child: reaped by subprocess soon
            exe = _readlink("/proc/%d/exe" % pid)
            mine = (ppid == self.me
                    or TEST_CGROUP_ROOT + "/" in _read("/proc/%d/cgroup" % pid)
                    or _readlink("/proc/%d/root" % pid).startswith(self.tmpdir)
                    or _readlink("/proc/%d/cwd" % pid).startswith(self.tmpdir)
                    or ((exe == self.binary or (exe.startswith("/memfd:") and self.name in exe))
                        and ours_by_ancestry(pid))
                    or self.tmpdir in cmdline(pid))
            if mine:
                found.add((pid, cmdline(pid)))
        return found

    def state(self):
        try:
            return set(os.listdir(self.state_root))
        except FileNotFoundError:
            return set()

    @staticmethod
    def fds():
        return set(os.listdir("/proc/self/fd"))

    def snapshot(self, fds=False):
        snap = {
            "mounts": self.mounts(),
            "cgroups": husk_test_cgroups(),
            "procs": self.procs(),
            "state": self.state(),
        }
        if fds:
            snap["fds"] = {(fd, _readlink("/proc/self/fd/" + fd)) for fd in self.fds()}
        return snap

    def diff(self, before, after):
        out = {}
        for key, now in after.items():
            new = now - before.get(key, set())
            if key == "fds":
                # the listing itself opens a directory fd; ignore transient ones
                new = {x for x in new if not x[1].startswith("/proc/")}
            if new:
                out[key] = sorted(new)
        return out

    def assert_clean(self, before, settle=5.0, what="command"):
        want_fds = "fds" in before
        deadline = time.monotonic() + settle
        while True:
            leftover = self.diff(before, self.snapshot(fds=want_fds))
            if not leftover or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not leftover, "%s left things behind: %r" % (what, leftover)

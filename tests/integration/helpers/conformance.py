"""Helpers for the test_conformance_*.py files: each config.json field is
checked by its effect inside the container, so most tests run one short
container and parse what it printed (/proc/self/status, /proc/self/limits,
/proc/self/mountinfo, /proc/self/stat)."""
import os

CAP_BITS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
    "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27, "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34,
    "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
}


def cap_mask(caps):
    m = 0
    for c in caps:
        m |= 1 << CAP_BITS[c]
    return m


def cap_names(m):
    return sorted(n for n, bit in CAP_BITS.items() if m & (1 << bit))


def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError("%s not in %r" % (name, text[:400]))


def caps_of(status):
    """{'CapInh': [...names], ...} from a /proc/<pid>/status dump."""
    return {k: cap_names(int(status_field(status, k), 16))
            for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def run_ok(runtime, b, *extra, **kw):
    r = runtime.run(b, *extra, **kw)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def add_caps(b, *caps, sets=("bounding", "effective", "permitted")):
    c = b.process.setdefault("capabilities", {})
    for s in sets:
        for cap in caps:
            if cap not in c.setdefault(s, []):
                c[s].append(cap)


def limits(text):
    """/proc/self/limits -> {'Max open files': ('512', '1000'), ...}"""
    out = {}
    for line in text.splitlines()[1:]:
        # "Max open files            1024                 1024                 files"
        name = line[:26].strip()
        rest = line[26:].split()
        if name and len(rest) >= 2:
            out[name] = (rest[0], rest[1])
    return out


def proc_stat_fields(text):
    """/proc/<pid>/stat -> {field number (1-based, as in proc(5)): value}."""
    pid, rest = text.split(" (", 1)
    comm, rest = rest.rsplit(") ", 1)
    fields = [pid, comm] + rest.split()
    return {i + 1: v for i, v in enumerate(fields)}


class Mount:
    """One /proc/<pid>/mountinfo line."""

    def __init__(self, line):
        f = line.split()
        sep = f.index("-")
        self.id, self.parent = int(f[0]), int(f[1])
        self.devno, self.root, self.point = f[2], f[3], f[4]
        self.opts = set(f[5].split(","))
        self.optional = f[6:sep]
        self.fstype, self.source = f[sep + 1], f[sep + 2]
        self.super = set(f[sep + 3].split(",")) if len(f) > sep + 3 else set()
        self.line = line

    def tag(self, prefix):
        """The value of an optional field, e.g. tag('shared') -> '12' or None."""
        for o in self.optional:
            if o.startswith(prefix + ":"):
                return o.split(":", 1)[1]
        return None

    def __repr__(self):
        return "Mount(%r)" % self.line


def mountinfo(text):
    return [Mount(l) for l in text.splitlines() if " - " in l]


def mount_at(text, point):
    """The top (last) mount at `point` in a mountinfo dump."""
    found = [m for m in mountinfo(text) if m.point == point]
    assert found, "no mount at %s in:\n%s" % (point, text)
    return found[-1]


def host_dir(parent, name, mode=0o755, files=None):
    d = os.path.join(parent, name)
    os.mkdir(d)
    os.chmod(d, mode)
    for fname, (content, fmode) in (files or {}).items():
        p = os.path.join(d, fname)
        with open(p, "w") as f:
            f.write(content)
        os.chmod(p, fmode)
    return d


def writable_root(b):
    b.config["root"]["readonly"] = False
    return b


# ------------------------------------------------------------- seccomp ----
SECCOMP_ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

# enough for busybox sh + applets when everything else is denied
SECCOMP_ALLOWED = [
    "read", "write", "exit", "exit_group", "brk", "mmap", "munmap", "mprotect",
    "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64",
    "getrandom", "execve", "execveat", "readlink", "readlinkat", "newfstatat",
    "fstat", "stat", "lstat", "statx", "uname", "getuid", "geteuid", "getgid",
    "getegid", "getpid", "getppid", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "ioctl", "fcntl", "close", "open", "openat", "dup2", "dup3",
    "access", "faccessat", "faccessat2", "futex", "sigaltstack", "capget",
    "capset", "prctl", "setgroups", "setuid", "setgid", "setresuid",
    "setresgid", "getcwd", "chdir", "fchdir", "umask", "getdents64",
    "lseek", "pread64", "getpgrp", "setpgid", "wait4", "clone", "fork",
    "vfork", "clone3", "kill", "tgkill", "gettid", "sched_getaffinity",
    "nanosleep", "clock_nanosleep", "poll", "ppoll", "select", "pselect6",
    "pipe", "pipe2", "epoll_pwait", "epoll_ctl", "epoll_create1",
    "fstatfs", "statfs", "madvise", "close_range", "seccomp", "setsid",
    "getrlimit", "setrlimit", "sched_yield", "membarrier"]


def seccomp_profile(rules, default="SCMP_ACT_ALLOW", **extra):
    s = {"defaultAction": default, "architectures": list(SECCOMP_ARCHES),
         "syscalls": rules}
    s.update(extra)
    return s


class SeccompListener:
    """A seccomp-notify agent on an AF_UNIX socket (linux.seccomp.listenerPath).
    Receives the ContainerProcessState JSON and the notify fd, then answers
    every notification with -`errno` until stopped."""

    NOTIF_RECV = 0xC0502100   # _IOWR('!', 0, struct seccomp_notif)   (80 bytes)
    NOTIF_SEND = 0xC0182101   # _IOWR('!', 1, struct seccomp_notif_resp) (24 bytes)

    def __init__(self, path, errno_=18):
        import socket
        import threading
        self.path = path
        self.errno = errno_
        self.state = None
        self.nfds = 0
        self.syscalls = []
        self.error = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(0.1)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import fcntl
        import json
        import select
        import socket
        import struct
        import time
        fds = []
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    conn, _ = self.sock.accept()
                    break
                except socket.timeout:
                    if self._stop.is_set() or time.monotonic() > deadline:
                        return
            with conn:
                conn.settimeout(15)
                data = b""
                while True:
                    msg, got, _flags, _addr = socket.recv_fds(conn, 65536, 8)
                    fds += got
                    data += msg
                    if not msg:
                        break
                    try:
                        self.state = json.loads(data)
                        break
                    except ValueError:
                        continue
            self.nfds = len(fds)
            if not fds:
                return
            fd = fds[0]
            while not self._stop.is_set():
                r, _, _ = select.select([fd], [], [], 0.1)
                if not r:
                    continue
                buf = bytearray(80)
                try:
                    fcntl.ioctl(fd, self.NOTIF_RECV, buf)
                except OSError:
                    continue
                nid, pid, _fl, nr = struct.unpack_from("=QIIi", buf, 0)
                self.syscalls.append(nr)
                resp = bytearray(struct.pack("=QqiI", nid, 0, -self.errno, 0))
                try:
                    fcntl.ioctl(fd, self.NOTIF_SEND, resp)
                except OSError:
                    pass
        except Exception as e:   # reported by the test
            self.error = e
        finally:
            for f in fds:
                os.close(f)

    def close(self):
        self._stop.set()
        self.thread.join(10)
        self.sock.close()

#!/usr/bin/python3
"""Driver of `make bench`: husk next to runc, crun and the floor program.

bench/run.sh builds the C helpers and starts this script once, inside a
private mount namespace in which an empty tmpfs hides /sys/fs/cgroup/unified,
so every runtime and the floor see the same cgroup layout (crun 1.8.1 refuses
to start on this hybrid machine otherwise).  See README.md for the method.

Every timed sample comes from bench/spawn.c (fork .. wait4 in a tiny static
process), never from Python's clock.  Runtimes that are missing or fail are
reported as n/a with the reason; the run goes on with the others.

Knobs (environment):
  BENCH_N=200           sequential samples per runtime and metric
  BENCH_PAR=50          containers created at once in the parallel test
  BENCH_PAR_ROUNDS=5    rounds of the parallel test
  BENCH_WARMUP=3        untimed `run`s per runtime before timing
  BENCH_CG_RUNS=3       callgrind runs per runtime (median is reported)
  BENCH_COLD=20         `run` samples each after 0.25 s idle (cold cgroup attach)
  BENCH_TIMEOUT=60      seconds before one runtime command counts as hung
  BENCH_RUNTIMES=...    comma list to restrict: floor,husk,crun,runc
  HUSK, CRUN, RUNC      runtime paths (default build/husk, /usr/bin/crun,
                        /usr/sbin/runc)
Set by run.sh: BENCH_WORK (tmp dir), BENCH_BIN (spawn, floor),
BENCH_RESULTS (bench/results), BENCH_REPO.
"""

import copy
import ctypes
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import write_report

CG_ROOT = Path("/sys/fs/cgroup")
CG_PARENT = "husk-bench"
CONTROLLERS = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
               "blkio", "pids", "systemd"]
PR_SET_CHILD_SUBREAPER = 36

# The environment every runtime gets: nothing inherited from the caller's
# shell (a stray NOTIFY_SOCKET or XDG_RUNTIME_DIR changes runtime behaviour).
RUNTIME_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C",
}


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit(f"bench: {name} must be an integer")


N = env_int("BENCH_N", 200)
PAR = env_int("BENCH_PAR", 50)
PAR_ROUNDS = env_int("BENCH_PAR_ROUNDS", 5)
WARMUP = env_int("BENCH_WARMUP", 3)
CG_RUNS = env_int("BENCH_CG_RUNS", 3)
COLD = env_int("BENCH_COLD", 20)
COLD_GAP = 0.25       # idle seconds that make the next cgroup attach cold
TIMEOUT = env_int("BENCH_TIMEOUT", 60)
MAX_CONSECUTIVE_FAILURES = 3

REPO = Path(os.environ.get("BENCH_REPO", Path(__file__).resolve().parent.parent))
WORK = Path(os.environ["BENCH_WORK"])
BIN = Path(os.environ["BENCH_BIN"])
RESULTS = Path(os.environ.get("BENCH_RESULTS", REPO / "bench" / "results"))
RAW = RESULTS / "raw"

STOP = False


class Interrupted(Exception):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr,
          flush=True)


def on_signal(signo, _frame):
    """Stop between samples, so no runtime is killed halfway through."""
    global STOP
    if not STOP:
        log(f"signal {signo}: stopping after the current command, then cleaning up")
    STOP = True


def check_stop():
    if STOP:
        raise Interrupted()


def reap():
    """Reap container processes that were reparented to us.

    We are a child subreaper: a container whose `create` process exited
    becomes our child instead of PID 1's (this machine's PID 1 never reaps,
    so zombies would pile up).  Called only between commands, when no
    subprocess of ours is running, so it cannot steal a Popen's status.
    """
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Sample:
    def __init__(self, line):
        parts = line.split()
        if len(parts) != 3:
            self.status, self.us, self.rss_kb = f"spawn: {line.strip()!r}", 0, 0
        else:
            self.status, self.us, self.rss_kb = parts[0], int(parts[1]), int(parts[2])

    @property
    def ok(self):
        return self.status == "ok"


class Runtime:
    """One thing being measured: an OCI runtime or a floor variant."""

    def __init__(self, name, path, kind):
        self.name = name
        self.path = Path(path)
        self.kind = kind                  # "oci" or "floor"
        self.root = WORK / "state" / name
        self.log = RAW / f"{name}.log"
        self.reason = None                # set when not usable at all
        self.version = ""

    def cmd(self, *args):
        return [str(self.path), "--root", str(self.root), *args]

    @property
    def usable(self):
        return self.reason is None


def last_line(path, offset):
    """Last non-empty line a command wrote to its log (its error, mostly)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[-1][:200] if lines else ""


class Bench:
    def __init__(self):
        self.spawn_bin = BIN / "spawn"
        self.floor_bin = BIN / "floor"
        self.rootfs = WORK / "rootfs"
        self.samples = {}     # (metric, rt) -> [us]
        self.rss = {}         # (metric, rt) -> [kB]
        self.values = {}      # (metric, rt) -> number
        self.na = {}          # (metric, rt) -> reason
        self.failures = {}    # (metric, rt) -> count
        self.notes = []       # free-form lines for the report
        self.mounts = []      # our own mounts, unmounted in cleanup
        self.created = set()  # (rt, id) of every container we asked for
        self.runtimes = []
        self.streak = {}      # (metric, rt) -> failures in a row
        self.last_reason = {}
        self.spec = None
        self.started = time.time()
        self.n, self.par, self.par_rounds, self.cold = N, PAR, PAR_ROUNDS, COLD
        # Others may share this machine: the load before the run goes into
        # the report, as a hint when numbers look off.
        self.load_before = Path("/proc/loadavg").read_text().split()[0]

    # -- running things ---------------------------------------------------

    def spawn(self, argv, rt=None, timeout=TIMEOUT, copies=None, env=None,
              preexec=None):
        cmd = [str(self.spawn_bin), "-t", str(timeout),
               "-o", str(rt.log) if rt else os.devnull]
        if copies:
            cmd += ["-p", str(copies)]
        cmd += ["--", *map(str, argv)]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=env or RUNTIME_ENV, preexec_fn=preexec)
        reap()
        return Sample(out.stdout.decode(errors="replace"))

    def quiet(self, argv, timeout=30):
        """An untimed helper command; returns (rc, stdout)."""
        try:
            p = subprocess.run(list(map(str, argv)), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               env=RUNTIME_ENV, timeout=timeout)
            rc, out = p.returncode, p.stdout.decode(errors="replace")
        except (OSError, subprocess.TimeoutExpired) as e:
            rc, out = -1, str(e)
        reap()
        return rc, out

    def timed(self, rt, metric, argv, timeout=TIMEOUT, copies=None):
        """One sample; a failure is counted and its reason kept."""
        offset = rt.log.stat().st_size if rt.log.exists() else 0
        s = self.spawn(argv, rt=rt, timeout=timeout, copies=copies)
        key = (metric, rt.name)
        if s.ok:
            self.samples.setdefault(key, []).append(s.us)
            self.rss.setdefault(key, []).append(s.rss_kb)
            self.streak[key] = 0
        else:
            why = last_line(rt.log, offset)
            self.fail_without_sample(rt, metric, f"{s.status}: {why}" if why else s.status)
        return s

    def fail_without_sample(self, rt, metric, reason):
        key = (metric, rt.name)
        self.failures[key] = self.failures.get(key, 0) + 1
        self.streak[key] = self.streak.get(key, 0) + 1
        self.last_reason[key] = reason
        if self.streak[key] >= MAX_CONSECUTIVE_FAILURES:
            self.na[key] = f"failed {self.streak[key]} times in a row, last: {reason}"
            log(f"{rt.name} {metric}: giving up ({self.na[key]})")

    def active(self, metric, rts):
        """Runtimes still taking part in @metric, in a fresh random order."""
        act = [rt for rt in rts if rt.usable and (metric, rt.name) not in self.na]
        random.shuffle(act)
        return act

    def delete(self, rt, cid):
        if rt.kind == "oci":
            self.quiet(rt.cmd("delete", "--force", cid))

    # -- setting up -------------------------------------------------------

    def check_environment(self):
        mi = Path("/proc/self/mountinfo").read_text()
        unified = [l for l in mi.splitlines()
                   if l.split()[4] == "/sys/fs/cgroup/unified"]
        if unified and " - tmpfs " not in unified[-1]:
            sys.exit("bench: /sys/fs/cgroup/unified is not hidden; run via bench/run.sh")
        missing = [c for c in CONTROLLERS if not (CG_ROOT / c / "cgroup.procs").exists()]
        if missing:
            sys.exit(f"bench: cgroup v1 hierarchies missing: {', '.join(missing)}")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            log("warning: cannot become child subreaper; zombies may stay behind")

    def make_rootfs(self, path):
        (path / "bin").mkdir(parents=True)
        shutil.copy2("/bin/busybox", path / "bin" / "busybox")
        applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True,
                                 check=True).stdout.decode().split()
        for a in applets:
            # busybox lists itself; a self-symlink would loop.
            if a != "busybox" and "/" not in a:
                os.symlink("busybox", path / "bin" / a)
        # Mount points made up front: the rootfs is mounted read-only, and
        # no runtime should pay for the first mkdir.
        for d in ["proc", "sys", "dev", "tmp", "etc", "root"]:
            (path / d).mkdir(exist_ok=True)

    def make_spec(self):
        """`runc spec`'s default config (crun's if runc is absent)."""
        d = WORK / "spec"
        d.mkdir()
        by_name = {rt.name: rt for rt in self.runtimes}
        for rt in (by_name["runc"], by_name["crun"]):
            if not rt.path.exists():
                continue
            rc = subprocess.run([str(rt.path), "spec"], cwd=d, env=RUNTIME_ENV,
                                capture_output=True).returncode
            if rc == 0 and (d / "config.json").exists():
                self.spec = json.loads((d / "config.json").read_text())
                self.notes.append(f"config.json: `{rt.name} spec` default with "
                                  "args [\"/bin/true\"], terminal false, an absolute "
                                  "root.path and cgroupsPath /husk-bench/<id>.")
                return
        sys.exit("bench: neither runc nor crun could write a default spec")

    def bundle(self, cid, args=("/bin/true",), rootfs=None):
        path = WORK / "bundles" / cid
        if path.exists():
            return path
        cfg = copy.deepcopy(self.spec)
        cfg["process"]["args"] = list(args)
        cfg["process"]["terminal"] = False
        # One shared read-only rootfs instead of a copy per bundle.
        cfg["root"]["path"] = str(rootfs or self.rootfs)
        # Absolute, under our own parent: never inside the caller's cgroup.
        cfg["linux"]["cgroupsPath"] = f"/{CG_PARENT}/{cid}"
        path.mkdir(parents=True)
        (path / "config.json").write_text(json.dumps(cfg, indent=1))
        return path

    def cgroup_parents(self):
        """husk-bench in every hierarchy, made before timing so that no
        runtime pays for it; cpuset needs cpus/mems before it takes tasks."""
        for c in CONTROLLERS:
            d = CG_ROOT / c / CG_PARENT
            d.mkdir(exist_ok=True)
            if c == "cpuset":
                for f in ["cpuset.cpus", "cpuset.mems"]:
                    if not (d / f).read_text().strip():
                        (d / f).write_text((CG_ROOT / c / f).read_text())

    def find_runtimes(self):
        want = os.environ.get("BENCH_RUNTIMES")
        want = set(want.split(",")) if want else None
        rts = [
            Runtime("floor", self.floor_bin, "floor"),
            Runtime("floor+cg", self.floor_bin, "floor"),
            Runtime("husk", os.environ.get("HUSK", REPO / "build" / "husk"), "oci"),
            Runtime("crun", os.environ.get("CRUN", "/usr/bin/crun"), "oci"),
            Runtime("runc", os.environ.get("RUNC", "/usr/sbin/runc"), "oci"),
        ]
        for rt in rts:
            if want and rt.name not in want and rt.name.split("+")[0] not in want:
                rt.reason = "left out by BENCH_RUNTIMES"
            elif not os.access(rt.path, os.X_OK):
                rt.reason = f"not found at {rt.path}"
                if rt.name == "husk":
                    rt.reason += " (not built yet?)"
            rt.root.mkdir(parents=True, exist_ok=True)
            rt.log.write_text("")
        self.runtimes = rts

    def floor_cmd(self, rt, cid, rootfs=None):
        args = [self.floor_bin]
        if rt.name == "floor+cg":
            args += ["-c", cid]
        return args + [rootfs or self.rootfs]

    def run_cmd(self, rt, cid):
        if rt.kind == "floor":
            return self.floor_cmd(rt, cid)
        return rt.cmd("run", "--bundle", self.bundle(cid), cid)

    def probe(self):
        """Version, and one smoke `run` that must work for a runtime to be
        measured at all."""
        for rt in self.runtimes:
            if not rt.usable:
                log(f"{rt.name}: n/a ({rt.reason})")
                continue
            if rt.kind == "oci":
                rc, out = self.quiet([rt.path, "--version"], timeout=10)
                first = out.strip().splitlines()[0] if rc == 0 and out.strip() else "?"
                # "crun version 1.8.1" -> "1.8.1"
                rt.version = re.sub(r"^\S+\s+version\s+", "", first)
            cid = f"{rt.name.replace('+', '-')}-smoke"
            offset = rt.log.stat().st_size
            s = self.spawn(self.run_cmd(rt, cid), rt=rt, timeout=30)
            self.delete(rt, cid)
            if not s.ok:
                why = last_line(rt.log, offset)
                rt.reason = f"smoke `run` failed ({s.status}){': ' + why if why else ''}"
                log(f"{rt.name}: n/a ({rt.reason})")
            else:
                log(f"{rt.name}: ok {rt.version} ({s.us / 1000:.1f} ms)")

    # -- the measurements -------------------------------------------------

    def phase_run(self):
        rts = [rt for rt in self.runtimes if rt.usable]
        log(f"warm-up: {WARMUP} untimed runs each")
        for _ in range(WARMUP):
            for rt in rts:
                check_stop()
                cid = f"{rt.name.replace('+', '-')}-run"
                self.spawn(self.run_cmd(rt, cid), rt=rt)
                self.delete(rt, cid)
        log(f"run /bin/true: {N} rounds, interleaved")
        for i in range(N):
            for rt in self.active("run", rts):
                check_stop()
                cid = f"{rt.name.replace('+', '-')}-run"
                self.created.add((rt.name, cid))
                self.timed(rt, "run", self.run_cmd(rt, cid))
                # `run` normally removes the container itself; make sure, so
                # a failed sample does not poison the next one.
                self.delete(rt, cid)
            self.progress("run", i)

    def phase_run_cold(self):
        """`run` after an idle spell: on cgroup v1 the first attach after a
        quiet moment costs ~12 ms more than one right after another (see
        README, caveats).  Back-to-back samples mostly see the warm case;
        an engine starting a container now and then sees this one."""
        rts = [rt for rt in self.runtimes if rt.usable]
        log(f"run /bin/true, cold: {COLD} rounds, {COLD_GAP} s idle before each sample")
        for _ in range(COLD):
            for rt in self.active("run_cold", rts):
                check_stop()
                cid = f"{rt.name.replace('+', '-')}-run"
                time.sleep(COLD_GAP)
                self.timed(rt, "run_cold", self.run_cmd(rt, cid))
                self.delete(rt, cid)

    def wait_stopped(self, rt, cid, limit=10.0):
        """Poll `state` until the container's /bin/true has exited.

        Returns None when it has, else why not; a `state` that fails three
        times in a row ends the wait at once instead of after @limit.
        """
        end = time.monotonic() + limit
        errors = 0
        while time.monotonic() < end:
            rc, out = self.quiet(rt.cmd("state", cid))
            try:
                status = json.loads(out).get("status") if rc == 0 else None
            except (ValueError, AttributeError):
                status = None
            if status == "stopped":
                return None
            errors = errors + 1 if status is None else 0
            if errors >= 3:
                return f"`state` failed (rc {rc}) while waiting for stopped"
            time.sleep(0.001)
        return f"not stopped after {limit:.0f} s"

    def phase_split(self):
        oci = [rt for rt in self.runtimes if rt.kind == "oci"]
        log(f"create/start/delete: {N} rounds, interleaved")
        for i in range(N):
            for rt in self.active("create", oci):
                check_stop()
                cid = f"{rt.name}-split"
                self.created.add((rt.name, cid))
                b = self.bundle(cid)
                ok = self.timed(rt, "create", rt.cmd("create", "--bundle", b, cid)).ok
                if ok and ("start", rt.name) not in self.na:
                    ok = self.timed(rt, "start", rt.cmd("start", cid)).ok
                    # Only a container whose /bin/true has exited is deleted
                    # without --force, as an engine does after `wait`.
                    if ok and ("delete", rt.name) not in self.na:
                        why = self.wait_stopped(rt, cid)
                        if why:
                            self.fail_without_sample(rt, "delete", why)
                        elif self.timed(rt, "delete", rt.cmd("delete", cid)).ok:
                            continue
                self.delete(rt, cid)
            self.progress("create/start/delete", i)

    def phase_exec_state(self):
        oci = [rt for rt in self.runtimes if rt.kind == "oci" and rt.usable]
        log(f"exec and state: {N} rounds, interleaved, into one sleeping container each")
        ready = []
        for rt in oci:
            check_stop()
            cid = f"{rt.name}-exec"
            self.created.add((rt.name, cid))
            b = self.bundle(cid, args=("/bin/sleep", "1000000"))
            s = self.spawn(rt.cmd("create", "--bundle", b, cid), rt=rt)
            if s.ok:
                s = self.spawn(rt.cmd("start", cid), rt=rt)
            if s.ok:
                ready.append(rt)
            else:
                for m in ("exec", "exec_cold", "state"):
                    self.na[(m, rt.name)] = f"could not start the sleeping container ({s.status})"
        try:
            for i in range(N):
                for rt in self.active("exec", ready):
                    check_stop()
                    self.timed(rt, "exec", rt.cmd("exec", f"{rt.name}-exec", "/bin/true"))
                for rt in self.active("state", ready):
                    check_stop()
                    self.timed(rt, "state", rt.cmd("state", f"{rt.name}-exec"))
                self.progress("exec/state", i)
            # As with `run`, cold: an exec after an idle spell is what a
            # health check or an occasional `kubectl exec` sees.
            log(f"exec, cold: {COLD} rounds, {COLD_GAP} s idle before each sample")
            for _ in range(COLD):
                for rt in self.active("exec_cold", ready):
                    check_stop()
                    time.sleep(COLD_GAP)
                    self.timed(rt, "exec_cold", rt.cmd("exec", f"{rt.name}-exec", "/bin/true"))
        finally:
            for rt in ready:
                self.delete(rt, f"{rt.name}-exec")

    def phase_parallel(self):
        oci = [rt for rt in self.runtimes if rt.kind == "oci"]
        log(f"{PAR} parallel creates: {PAR_ROUNDS} rounds, interleaved")
        for rt in oci:
            for k in range(PAR):
                self.bundle(f"{rt.name}-par{k}")
                self.created.add((rt.name, f"{rt.name}-par{k}"))
        for _ in range(PAR_ROUNDS):
            for rt in self.active("par", oci):
                check_stop()
                b = WORK / "bundles" / f"{rt.name}-par%d"
                s = self.timed(rt, "par", rt.cmd("create", "--bundle", b, f"{rt.name}-par%d"),
                               timeout=max(TIMEOUT, 120), copies=PAR)
                # Delete all at once too; then catch any a failure left.
                self.spawn(rt.cmd("delete", "--force", f"{rt.name}-par%d"), rt=rt,
                           copies=PAR, timeout=max(TIMEOUT, 120))
                if not s.ok:
                    for k in range(PAR):
                        if (rt.root / f"{rt.name}-par{k}").exists():
                            self.delete(rt, f"{rt.name}-par{k}")

    # -- static facts and instruction counts --------------------------------

    def stripped_size(self, rt):
        """The file's size without its symbols and debug sections: husk's
        build keeps them (-g), Debian's binaries come stripped."""
        copy = WORK / ("size-" + rt.name.replace("+", "-"))
        shutil.copyfile(rt.path, copy)
        rc, _ = self.quiet(["strip", str(copy)])
        size = copy.stat().st_size if rc == 0 else rt.path.stat().st_size
        copy.unlink()
        return size

    def phase_static(self):
        for rt in self.runtimes:
            if not rt.path.exists():
                continue
            self.values[("size", rt.name)] = self.stripped_size(rt)
            rc, out = self.quiet(["ldd", rt.path])
            libs = [l.split()[0] for l in out.splitlines()
                    if "=>" in l or l.strip().startswith("/")]
            libs = [l for l in libs if "vdso" not in l]
            self.values[("libs", rt.name)] = len(libs)
            if rt.kind == "oci":
                names = ", ".join(sorted(Path(l).name for l in libs)) or "none (static)"
                self.notes.append(f"{rt.name} links: {names}.")

    def perf_works(self):
        if not shutil.which("perf"):
            return False
        p = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u", "true"],
                           capture_output=True, text=True)
        return p.returncode == 0 and "<not" not in p.stderr

    def phase_instructions(self):
        rts = [rt for rt in self.runtimes if rt.usable]
        if not rts:
            return
        if self.perf_works():
            self.instructions_perf(rts)
        elif shutil.which("valgrind"):
            self.instructions_callgrind(rts)
        else:
            for rt in rts:
                self.na[("instr", rt.name)] = "neither perf counters nor valgrind"

    def instructions_perf(self, rts):
        log("instructions per run: perf stat")
        self.notes.append("Instructions: `perf stat -e instructions:u`, user space, "
                          "the runtime and every child (including the container's /bin/true).")
        for rt in rts:
            counts = []
            for k in range(CG_RUNS):
                check_stop()
                cid = f"{rt.name.replace('+', '-')}-perf"
                out = RAW / f"perf-{rt.name}.csv"
                s = self.spawn(["perf", "stat", "-x,", "-o", out, "-e", "instructions:u",
                                "--", *self.run_cmd(rt, cid)], rt=rt)
                self.delete(rt, cid)
                m = re.match(r"(\d+),", out.read_text().strip().splitlines()[-1]) \
                    if s.ok and out.exists() else None
                if m:
                    counts.append(int(m.group(1)))
            if counts:
                self.values[("instr", rt.name)] = statistics.median(counts)
            else:
                self.na[("instr", rt.name)] = "perf stat failed"

    def instructions_callgrind(self, rts):
        """Instructions via callgrind, since this VM has no PMU.

        Two things make a plain `valgrind --trace-children=no` wrong for
        runtimes here: crun (like runc) first re-executes itself from a
        sealed memfd (execveat), so trace-children=no only sees that stub;
        and the container's set-up happens in a forked child whose counts
        are lost at its execve.  So, per runtime:
          traced: --trace-children=yes (skipping /bin/true itself) with a
            profile dump before every exec*, the binary run from a read-only
            bind mount with _LIBCONTAINER_CLONED_BINARY=1 (the documented
            opt-out of the memfd copy, which valgrind cannot execveat);
            the out dir is bind-mounted into a copy of the rootfs at the same
            path, so the child can still write its dump after pivot_root;
          stub: for a binary that has that re-exec, one plain
            trace-children=no run counts the part before the execveat.
        The sum is user-space instructions of the runtime's whole process
        tree up to the container's execve.  The spec's RLIMIT_NOFILE must
        equal valgrind's own fd limit or valgrind refuses the setrlimit, so
        valgrind starts with a soft limit of that value.
        """
        log("instructions per run: valgrind --tool=callgrind")
        for f in RAW.glob("callgrind-*.log"):
            f.unlink()
        cgdir = WORK / "cg"
        cgdir.mkdir()
        rootfs_cg = WORK / "rootfs-cg"
        self.make_rootfs(rootfs_cg)
        inner = rootfs_cg / cgdir.relative_to("/")
        inner.mkdir(parents=True)
        robin = WORK / "ro-bin"
        robin.mkdir()
        for rt in rts:
            if rt.kind == "oci":
                shutil.copy2(rt.path, robin / rt.name)
        try:
            self.mount(["--bind", cgdir, inner])
            self.mount(["--bind", robin, robin])
            self.mount(["-o", "remount,bind,ro", robin])
        except subprocess.CalledProcessError as e:
            for rt in rts:
                self.na[("instr", rt.name)] = f"mount for callgrind failed: {e}"
            return

        nofile = 1024
        for r in self.spec["process"].get("rlimits", []):
            if r.get("type") == "RLIMIT_NOFILE":
                nofile = r.get("soft", nofile)

        def lower_nofile():
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))

        env = dict(RUNTIME_ENV, _LIBCONTAINER_CLONED_BINARY="1")
        seq = 0
        for rt in rts:
            totals, reason = [], None
            cid = f"{rt.name.replace('+', '-')}-cg"
            if rt.kind == "oci":
                self.bundle(cid, rootfs=rootfs_cg)
                target = [robin / rt.name, "--root", rt.root, "run", "--bundle",
                          WORK / "bundles" / cid, cid]
            else:
                target = self.floor_cmd(rt, cid, rootfs=rootfs_cg)
            stub = rt.kind == "oci" and b"_LIBCONTAINER_CLONED_BINARY" in rt.path.read_bytes()
            for _ in range(CG_RUNS):
                check_stop()
                seq += 1
                out = cgdir / f"{rt.name}-{seq}"
                out.mkdir()
                vg = ["valgrind", "--tool=callgrind", "--vgdb=no",
                      f"--log-file={RAW}/callgrind-{rt.name}.%p.log",
                      f"--callgrind-out-file={out}/cg.%p"]
                s = self.spawn(vg + ["--trace-children=yes", "--trace-children-skip=/bin/true",
                                     "--dump-before=*exec*", *target],
                               rt=rt, timeout=300, env=env, preexec=lower_nofile)
                self.delete(rt, cid)
                if s.ok and stub:
                    # Valgrind cannot follow the execveat of a memfd, so this
                    # run ends with the runtime's "failed to re-execute"
                    # error right after the stub: its exit status is
                    # expected to be bad, the dump is what counts.
                    self.spawn(vg + ["--trace-children=no", *self.run_cmd(rt, cid)],
                               rt=rt, timeout=300, preexec=lower_nofile)
                    self.delete(rt, cid)
                if not s.ok:
                    reason = self.valgrind_failure(rt, s)
                    break
                totals.append(self.callgrind_total(out))
            if totals:
                self.values[("instr", rt.name)] = statistics.median(totals)
            else:
                self.na[("instr", rt.name)] = reason
                log(f"{rt.name}: instructions n/a ({reason})")
        self.notes.append(
            "Instructions: callgrind (no PMU on this VM), user space only, the runtime's "
            "whole process tree up to the container's execve; runtimes that re-exec "
            "from a memfd are counted as stub run + traced run (see bench.py). "
            "Under valgrind openat2 is ENOSYS, so crun takes its fallback path.")

    def valgrind_failure(self, rt, s):
        text = ""
        for f in RAW.glob(f"callgrind-{rt.name}.*.log"):
            text += f.read_text(errors="replace")
        for pat in [r"Assertion '[^']*' failed", r"SIGILL", r"unhandled instruction",
                    r"Illegal instruction", r"valgrind: [^\n]*"]:
            m = re.search(pat, text)
            if m:
                return f"valgrind cannot run it ({s.status}: {m.group(0)[:120]})"
        why = last_line(rt.log, 0)
        return f"run under valgrind failed ({s.status}){': ' + why if why else ''}"

    @staticmethod
    def callgrind_total(out):
        # Each dump holds the counts since the previous one: the sum over
        # every file of every process is the total.
        total = 0
        for f in out.iterdir():
            for line in f.read_text(errors="replace").splitlines():
                if line.startswith("summary:"):
                    total += int(line.split()[1])
        return total

    def mount(self, args):
        target = str(args[-1])
        subprocess.run(["mount", *map(str, args)], check=True)
        self.mounts.append(target)

    def progress(self, what, i):
        if (i + 1) % max(1, N // 4) == 0 or i + 1 == N:
            log(f"  {what}: {i + 1}/{N}")

    # -- cleaning up --------------------------------------------------------

    def cleanup(self):
        log("cleaning up")
        for rt in self.runtimes:
            if rt.kind != "oci" or not rt.path.exists():
                continue
            ids = {cid for name, cid in self.created if name == rt.name}
            if rt.root.exists():
                ids |= {p.name for p in rt.root.iterdir() if p.is_dir()}
            for cid in sorted(ids):
                if (rt.root / cid).exists() or rt.name == "husk":
                    self.quiet(rt.cmd("delete", "--force", cid))
        kill_cgroup_leftovers()
        kill_children()
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        self.mounts = []
        reap()

    # -- report -------------------------------------------------------------

    def report(self):
        write_report(self, RESULTS)


def cgroup_dirs():
    """Every cgroup dir under husk-bench, deepest first."""
    found = []
    for c in CONTROLLERS:
        top = CG_ROOT / c / CG_PARENT
        if top.is_dir():
            for dirpath, _dirs, _files in os.walk(top):
                found.append(Path(dirpath))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def kill_cgroup_leftovers():
    """Kill what is still in our cgroups (only containers we started can be
    there) and remove the cgroups, husk-bench itself last."""
    for d in cgroup_dirs():
        try:
            pids = (d / "cgroup.procs").read_text().split()
        except OSError:
            continue
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
                log(f"killed leftover container process {pid} in {d}")
            except (ProcessLookupError, ValueError):
                pass
    for _ in range(50):
        left = []
        for d in cgroup_dirs():
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                left.append(d)
        reap()
        if not left:
            return
        time.sleep(0.02)
    log(f"warning: could not remove {len(left)} cgroup dirs, e.g. {left[0]}")


def kill_children():
    """Kill and reap what is still our child at the end: as a subreaper we
    inherit every orphan of the runtimes we started (say a `runc init`
    whose parent died under valgrind), and nothing else."""
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        if fields[1] == me and fields[0] != "Z":
            log(f"killing leftover child process {pid}")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def main():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    RAW.mkdir(parents=True, exist_ok=True)

    b = Bench()
    b.check_environment()
    b.find_runtimes()
    status = 0
    try:
        kill_cgroup_leftovers()        # from an earlier run that was killed hard
        b.make_rootfs(b.rootfs)
        b.make_spec()
        b.cgroup_parents()
        b.probe()
        b.phase_static()
        b.phase_run()
        b.phase_run_cold()
        b.phase_split()
        b.phase_exec_state()
        b.phase_parallel()
        b.phase_instructions()
    except Interrupted:
        status = 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        b.cleanup()
    if status:
        log("interrupted: no report written")
        return status
    b.report()
    log(f"done in {time.time() - b.started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

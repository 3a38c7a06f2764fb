"""containerd 1.6 (Debian's package) drives husk through containerd-shim-runc-v2.

One containerd per module, with root, state and sockets under a temp dir and
the CRI plugin off; the busybox image is imported from a tar made by hand.
husk is chosen with `ctr run --runc-binary HUSK`, which sends the shim the
same runc options (BinaryName) that a containerd runtime handler carries.
"""
import json
import os
import shlex
import subprocess
import time

import pytest

import engine_util as eu


def _wait_status(cd, cid, status, timeout=10):
    def check():
        r = cd.ctr("task", "ls")
        for line in r.stdout.splitlines():
            f = line.split()
            if f[:1] == [cid]:
                return f[-1] == status
        return False
    eu.wait_for(check, timeout=timeout, what="task %s to be %s" % (cid, status))


def _detached(cd, cid, *cmd):
    r = cd.ctr(*cd.run_args(cid, "--detach"), *cmd)
    assert r.returncode == 0, r.stderr
    _wait_status(cd, cid, "RUNNING")


def _remove(cd, cid):
    cd.ctr("task", "kill", "--signal", "SIGKILL", cid)
    _wait_status(cd, cid, "STOPPED")
    r = cd.ctr("task", "delete", cid)
    assert r.returncode == 0, r.stderr
    r = cd.ctr("containers", "delete", cid)
    assert r.returncode == 0, r.stderr


def test_run_rm_output(cd):
    r = cd.ctr(*cd.run_args("out", "--rm"), "sh", "-c",
               "echo hello from husk; echo to-stderr >&2; cat /proc/self/cgroup")
    assert r.returncode == 0, r.stderr
    assert "hello from husk" in r.stdout
    assert "to-stderr" in r.stderr
    # the container is in the cgroup we asked for, not the caller's
    assert ("memory:/%s/out\n" % eu.SESSION_CGROUP) in r.stdout, r.stdout


def test_run_exit_code(cd):
    r = cd.ctr(*cd.run_args("exitcode", "--rm"), "sh", "-c", "exit 42")
    assert r.returncode == 42, (r.returncode, r.stderr)
    r = cd.ctr(*cd.run_args("exitzero", "--rm"), "true")
    assert r.returncode == 0, r.stderr


def test_run_missing_command_fails_cleanly(cd):
    r = cd.ctr(*cd.run_args("nocmd", "--rm"), "/no/such/binary")
    assert r.returncode != 0
    # the shim relays husk's error from its log.json
    assert "no/such/binary" in r.stderr or "no such file" in r.stderr.lower(), r.stderr
    cd.ctr("containers", "delete", "nocmd")


def test_detached_exec_ps_kill(cd):
    _detached(cd, "det", "sh", "-c", "echo started > /tmp/mark; exec sleep 1000")
    try:
        r = cd.ctr("task", "exec", "--exec-id", "e1", "det", "sh", "-c",
                   "while [ ! -e /tmp/mark ]; do sleep 0.02; done; cat /tmp/mark")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "started"
        r = cd.ctr("task", "exec", "--exec-id", "e2", "det", "sh", "-c", "exit 5")
        assert r.returncode == 5, (r.returncode, r.stderr)
        # ps: the init, plus a long-lived exec while it runs
        r = cd.ctr("task", "exec", "--detach", "--exec-id", "e3", "det", "sleep", "999")
        assert r.returncode == 0, r.stderr
        init_pid = int(_row_field(cd.ctr("task", "ls").stdout, "det", 1))

        def two():
            return len(_pids(cd, "det")) >= 2
        eu.wait_for(two, timeout=10, what="two processes in ctr task ps")
        pids = _pids(cd, "det")
        assert init_pid in pids, (init_pid, pids)
        # kill: SIGTERM to sleep as PID 1 is ignored, SIGKILL ends it
        r = cd.ctr("task", "kill", "--signal", "SIGKILL", "det")
        assert r.returncode == 0, r.stderr
        _wait_status(cd, "det", "STOPPED")
        r = cd.ctr("task", "delete", "det")
        assert r.returncode == 0, r.stderr
        r = cd.ctr("containers", "delete", "det")
        assert r.returncode == 0, r.stderr
    finally:
        cd.remove_all()


def test_kill_sigterm_with_handler(cd):
    _detached(cd, "term", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done")
    try:
        r = cd.ctr("task", "kill", "term")            # default SIGTERM
        assert r.returncode == 0, r.stderr
        _wait_status(cd, "term", "STOPPED")
        r = cd.ctr("task", "delete", "term")
        assert r.returncode == 0, r.stderr
        r = cd.ctr("containers", "delete", "term")
        assert r.returncode == 0, r.stderr
    finally:
        cd.remove_all()


def test_kill_all(cd):
    _detached(cd, "killall", "sh", "-c", "sleep 1000 & sleep 1001 & wait")
    try:
        eu.wait_for(lambda: len(_pids(cd, "killall")) >= 3, timeout=10, what="3 pids")
        r = cd.ctr("task", "kill", "--all", "--signal", "SIGKILL", "killall")
        assert r.returncode == 0, r.stderr
        _wait_status(cd, "killall", "STOPPED")
        _remove(cd, "killall")
    finally:
        cd.remove_all()


def test_pause_resume(cd):
    _detached(cd, "pz", "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; "
              "sleep 0.05; done")
    try:
        pid = int(_row_field(cd.ctr("task", "ls").stdout, "pz", 1))
        counter = "/proc/%d/root/tmp/n" % pid      # read from the host side
        eu.wait_for(lambda: os.path.exists(counter), timeout=10, what="counter")
        r = cd.ctr("task", "pause", "pz")
        assert r.returncode == 0, r.stderr
        _wait_status(cd, "pz", "PAUSED")
        n1 = _read_int(counter)
        time.sleep(0.4)
        assert _read_int(counter) == n1, "a paused task made progress"
        r = cd.ctr("task", "resume", "pz")
        assert r.returncode == 0, r.stderr
        _wait_status(cd, "pz", "RUNNING")
        eu.wait_for(lambda: _read_int(counter) > n1, timeout=10, what="progress after resume")
        _remove(cd, "pz")
    finally:
        cd.remove_all()


def test_metrics(cd):
    _detached(cd, "met", "sleep", "1000")
    try:
        r = cd.ctr("task", "metrics", "--format", "json", "met")
        assert r.returncode == 0, r.stderr
        m = json.loads(r.stdout)
        # cgroup v1 metrics (this machine is hybrid): pids, cpu, memory
        assert m["pids"]["current"] >= 1, m.get("pids")
        assert m["memory"]["usage"]["usage"] > 0, m.get("memory")
        assert "usage" in m["cpu"]
        _remove(cd, "met")
    finally:
        cd.remove_all()


def test_tty_run(cd):
    """`ctr run -t`, fed from a script: the console comes from husk's --console-socket."""
    args = cd.ctr_argv() + cd.with_fifo_dir(cd.run_args("tty", "--rm", "-t")) + [
        "sh", "-c", "tty; test -t 0 && test -t 1 && echo both-tty; exit 3"]
    cmd = " ".join(shlex.quote(a) for a in args)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "/dev/pts/" in r.stdout, r.stdout
    assert "both-tty" in r.stdout, r.stdout


def test_tty_interactive(cd):
    """Keystrokes reach the shell through the pty, and its exit status comes back."""
    args = cd.ctr_argv() + cd.with_fifo_dir(cd.run_args("ttyin", "--rm", "-t")) + ["sh"]
    cmd = " ".join(shlex.quote(a) for a in args)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                       text=True, timeout=60,
                       input="echo typed-$((6*7))\nexit 6\n")
    assert r.returncode == 6, (r.returncode, r.stdout, r.stderr)
    assert "typed-42" in r.stdout, r.stdout


def test_named_runtime_with_options(cd):
    """The Kubernetes path: runtime io.containerd.runc.v2 chosen by name with
    runc options whose BinaryName is husk -- what a CRI runtime handler
    `[...containerd.runtimes.husk] runtime_type = "io.containerd.runc.v2"` with
    `options.BinaryName` sends to the shim."""
    opts = ["--runtime", "io.containerd.runc.v2", "--runc-binary", cd.husk]
    r = cd.ctr(*cd.run_args("named", "--rm", runtime_opts=opts), "sh", "-c",
               "echo via-named-runtime; exit 9")
    assert r.returncode == 9, (r.returncode, r.stderr)
    assert "via-named-runtime" in r.stdout


@pytest.mark.skipif(os.path.basename(eu.HUSK_BIN).startswith("runc"),
                    reason="checks husk's own state; HUSK_BIN is runc")
def test_runtime_really_is_husk(cd):
    """The shim really ran husk: its state is in husk's format under the shim's --root."""
    _detached(cd, "which", "sleep", "1000")
    try:
        root = "/run/containerd/runc/" + cd.namespace
        r = subprocess.run([cd.husk, "--root", root, "state", "which"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        st = json.loads(r.stdout)
        assert st["status"] == "running"
        assert st["pid"] == int(_row_field(cd.ctr("task", "ls").stdout, "which", 1))
        # runc cannot read husk's state, so this is not runc's
        r = subprocess.run(["runc", "--root", root, "state", "which"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode != 0
        _remove(cd, "which")
    finally:
        cd.remove_all()


# ------------------------------------------------------------------ helpers --
def _row_field(table, cid, idx):
    for line in table.splitlines():
        f = line.split()
        if f[:1] == [cid]:
            return f[idx]
    raise AssertionError("%s not in:\n%s" % (cid, table))


def _pids(cd, cid):
    r = cd.ctr("task", "ps", cid)
    out = []
    for line in r.stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0].isdigit():
            out.append(int(f[0]))
    return out


def _read_int(path):
    with open(path) as f:
        txt = f.read().strip()
    return int(txt) if txt else 0

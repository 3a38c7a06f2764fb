"""podman 4.3 and conmon 2.1 (Debian's packages) drive husk: `podman --runtime HUSK`.

podman has no daemon: each container gets a conmon, which runs husk
create/exec; podman itself calls husk start/kill/delete/pause/resume.
Private --root/--runroot/--tmpdir, --cgroup-manager cgroupfs (this machine's
cgroups are hybrid and it has no systemd), --events-backend file,
--network none, and a containers.conf whose default_ulimits root can grant
here.  The image is loaded from the same hand-made tar as containerd's.
"""
import json
import os
import shlex
import subprocess

import pytest

import engine_util as eu


def _run(pm, *args, timeout=60, input=None):
    return pm.podman("run", *pm.run_opts(), *args, timeout=timeout, input=input)


def test_run_rm_output(pm):
    r = _run(pm, "--rm", eu.IMAGE_REF, "sh", "-c",
             "echo hello from husk; echo to-stderr >&2; cat /proc/self/cgroup")
    assert r.returncode == 0, r.stderr
    assert "hello from husk" in r.stdout
    assert "to-stderr" in r.stderr
    assert ("memory:/%s/libpod-" % eu.SESSION_CGROUP) in r.stdout, r.stdout


def test_run_exit_code(pm):
    r = _run(pm, "--rm", eu.IMAGE_REF, "sh", "-c", "exit 42")
    assert r.returncode == 42, (r.returncode, r.stderr)
    r = _run(pm, "--rm", eu.IMAGE_REF, "true")
    assert r.returncode == 0, r.stderr


def test_run_missing_command(pm):
    """A failing create: podman reports husk's error and exits 127, as with runc."""
    r = _run(pm, "--rm", eu.IMAGE_REF, "/no/such/binary")
    assert r.returncode in (126, 127), (r.returncode, r.stderr)
    assert "/no/such/binary" in r.stderr, r.stderr


def test_stdin(pm):
    r = _run(pm, "--rm", "-i", eu.IMAGE_REF, "sh", "-c", "tr a-z A-Z", input="piped in\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "PIPED IN\n"


def test_detached_exec_ps_stop(pm):
    r = _run(pm, "-d", "--name", "det", eu.IMAGE_REF, "sh", "-c",
             "trap 'exit 0' TERM; echo started > /tmp/mark; "
             "while :; do sleep 0.1; done")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        r = pm.podman("exec", "det", "sh", "-c",
                   "while [ ! -e /tmp/mark ]; do sleep 0.02; done; cat /tmp/mark")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "started"
        r = pm.podman("exec", "det", "sh", "-c", "exit 5")
        assert r.returncode == 5, (r.returncode, r.stderr)
        r = pm.podman("exec", "-e", "FOO=bar", "-w", "/tmp", "det", "sh", "-c", "echo $FOO $PWD")
        assert r.stdout.strip() == "bar /tmp", (r.stdout, r.stderr)
        # ps lists it as running
        r = pm.podman("ps", "--format", "json")
        assert r.returncode == 0, r.stderr
        rows = json.loads(r.stdout)
        mine = [c for c in rows if c["Id"] == cid]
        assert mine and mine[0]["State"] == "running", rows
        r = pm.podman("inspect", "--format", "{{.State.Status}} {{.State.Pid}}", "det")
        status, pid = r.stdout.split()
        assert status == "running" and int(pid) > 0
        # top runs husk ps
        r = pm.podman("top", "det")
        assert r.returncode == 0, r.stderr
        # stop: SIGTERM reaches the trap, the container exits 0
        r = pm.podman("stop", "--time", "10", "det", timeout=30)
        assert r.returncode == 0, r.stderr
        r = pm.podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "det")
        assert r.stdout.split() == ["exited", "0"], r.stdout
        r = pm.podman("ps", "--all", "--format", "{{.ID}} {{.Status}}")
        assert cid[:12] in r.stdout and "Exited (0)" in r.stdout, r.stdout
        r = pm.podman("rm", "det")
        assert r.returncode == 0, r.stderr
    finally:
        pm.remove_all()


def test_kill_and_restart(pm):
    r = _run(pm, "-d", "--name", "k", eu.IMAGE_REF, "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        r = pm.podman("kill", "--signal", "KILL", "k")
        assert r.returncode == 0, r.stderr
        r = pm.podman("wait", "k", timeout=30)
        assert r.stdout.strip() == "137", (r.stdout, r.stderr)
        r = pm.podman("start", "k")
        assert r.returncode == 0, r.stderr
        r = pm.podman("inspect", "--format", "{{.State.Status}}", "k")
        assert r.stdout.strip() == "running"
        r = pm.podman("rm", "--force", "--time", "0", "k", timeout=30)
        assert r.returncode == 0, r.stderr
    finally:
        pm.remove_all()


def test_pause_unpause(pm):
    r = _run(pm, "-d", "--name", "pz", eu.IMAGE_REF, "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        r = pm.podman("pause", "pz")
        assert r.returncode == 0, r.stderr
        r = pm.podman("inspect", "--format", "{{.State.Status}}", "pz")
        assert r.stdout.strip() == "paused"
        r = pm.podman("unpause", "pz")
        assert r.returncode == 0, r.stderr
        r = pm.podman("inspect", "--format", "{{.State.Status}}", "pz")
        assert r.stdout.strip() == "running"
    finally:
        pm.remove_all()


def test_tty_run(pm):
    args = pm.argv() + ["run"] + pm.run_opts() + [
        "--rm", "-t", eu.IMAGE_REF, "sh", "-c",
        "tty; test -t 0 && test -t 1 && echo both-tty; exit 3"]
    cmd = " ".join(shlex.quote(a) for a in args)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL, env=pm.env)
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "/dev/pts/0" in r.stdout, r.stdout
    assert "both-tty" in r.stdout, r.stdout


def test_tty_interactive(pm):
    args = pm.argv() + ["run"] + pm.run_opts() + ["--rm", "-it", eu.IMAGE_REF, "sh"]
    cmd = " ".join(shlex.quote(a) for a in args)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       timeout=60, input="echo typed-$((6*7))\nexit 6\n", env=pm.env)
    assert r.returncode == 6, (r.returncode, r.stdout, r.stderr)
    assert "typed-42" in r.stdout, r.stdout


@pytest.mark.skipif(os.path.basename(eu.HUSK_BIN).startswith("runc"),
                    reason="checks husk's own state; HUSK_BIN is runc")
def test_runtime_really_is_husk(pm):
    r = _run(pm, "-d", "--name", "which", eu.IMAGE_REF, "sleep", "1000")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        r = pm.podman("inspect", "--format", "{{.OCIRuntime}}", "which")
        assert r.stdout.strip() == pm.husk, r.stdout
        # podman passes no --root, so husk keeps the state in its default root
        r = subprocess.run([pm.husk, "state", cid], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "running"
    finally:
        pm.remove_all()

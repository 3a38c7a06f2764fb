"""Container lifecycle: create / start / state / kill / delete / run, exec,
pid files, the state JSON and the exit status of `run`."""
import json
import os
import re
import time

import pytest

from helpers.util import cgroup_procs, pid_gone, wait_for

# A container that reports it has started, then waits; SIGTERM makes it exit 3
# (pid 1 in a pid namespace only gets signals it has a handler for).
WAITER = ["sh", "-c", "trap 'echo got-term; exit 3' TERM; echo started; "
          "while :; do sleep 0.1; done"]


def test_run_prints_and_exits_zero(bundle, runtime):
    b = bundle(["echo", "hello from the container"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello from the container\n"


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_run_exits_with_container_status(bundle, runtime, code):
    b = bundle(["sh", "-c", "exit %d" % code])
    r = runtime.run(b)
    assert r.returncode == code, r.stderr


def test_run_killed_by_signal_gives_128_plus_signal(bundle, runtime):
    # Without a pid namespace sh is not an init and SIGKILL to itself works.
    b = bundle(["sh", "-c", "kill -9 $$; echo survived"])
    b.remove_namespace("pid")
    r = runtime.run(b)
    assert r.returncode == 137, (r.returncode, r.stdout, r.stderr)
    assert "survived" not in r.stdout


def test_run_exits_137_when_killed_from_outside(bundle, runtime):
    b = bundle(WAITER)
    p = runtime.run_bg(b)
    runtime.wait_output(b.id, "started")
    r = runtime.kill(b.id, "KILL")
    assert r.returncode == 0, r.stderr
    assert p.wait(timeout=20) == 137


def test_run_removes_the_container_afterwards(bundle, runtime):
    b = bundle(["true"])
    assert runtime.run(b).returncode == 0
    r = runtime.state(b.id)
    assert r.returncode != 0
    assert "does not exist" in r.stderr
    assert not os.path.exists(os.path.join(runtime.root, b.id))


def test_create_start_kill_delete(bundle, runtime):
    b = bundle(WAITER)
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr

    st = runtime.state_json(b.id)
    assert st["status"] == "created"
    assert st["id"] == b.id
    pid = st["pid"]
    assert pid > 0 and os.path.exists("/proc/%d" % pid)
    time.sleep(0.3)
    out, _ = runtime.output(b.id)
    assert "started" not in out, "user command ran before start"

    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    runtime.wait_output(b.id, "started")
    st = runtime.state_json(b.id)
    assert st["status"] == "running"
    assert st["pid"] == pid

    r = runtime.kill(b.id, "TERM")
    assert r.returncode == 0, r.stderr
    st = runtime.wait_status(b.id, "stopped")
    runtime.wait_output(b.id, "got-term")

    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    r = runtime.state(b.id)
    assert r.returncode != 0
    assert "does not exist" in r.stderr
    assert not os.path.exists("/proc/%d" % pid) or pid_gone(pid)


def test_created_process_has_not_run_user_command(bundle, runtime, tmpdir_s):
    os.chmod(tmpdir_s, 0o777)
    b = bundle(["sh", "-c", "touch /shared/ran"])
    b.add_mount("/shared", "bind", tmpdir_s, ["bind", "rw"])
    assert runtime.create(b).returncode == 0
    time.sleep(0.3)
    assert not os.path.exists(os.path.join(tmpdir_s, "ran"))
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert os.path.exists(os.path.join(tmpdir_s, "ran"))


def test_kill_sigkill_stops(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    assert runtime.state_json(b.id)["status"] == "running"
    r = runtime.kill(b.id, "SIGKILL")
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")


def test_kill_default_signal_is_sigterm(bundle, runtime):
    b = bundle(WAITER)
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "started")
    r = runtime.kill(b.id)
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    runtime.wait_output(b.id, "got-term")


@pytest.mark.parametrize("form", ["USR1", "SIGUSR1", "10"])
def test_kill_signal_name_forms(bundle, runtime, form):
    b = bundle(["sh", "-c", "trap 'echo got-usr1' USR1; echo started; "
                "while :; do sleep 0.1; done"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "started")
    r = runtime.kill(b.id, form)
    assert r.returncode == 0, r.stderr
    runtime.wait_output(b.id, "got-usr1")
    assert runtime.state_json(b.id)["status"] == "running"


def test_kill_unknown_signal_fails(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.kill(b.id, "SIGNOPE")
    assert r.returncode != 0
    assert runtime.state_json(b.id)["status"] == "running"


def test_kill_all_reaches_every_process(bundle, runtime):
    b = bundle(["sh", "-c", "sleep 1000 & sleep 1000 & echo started; wait"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "started")
    cg = b.cgroup
    pids_before = cgroup_procs(cg)
    assert len(pids_before) >= 3, pids_before
    r = runtime.kill(b.id, "KILL", all=True)
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    assert wait_for(lambda: not cgroup_procs(cg))
    for pid in pids_before:
        assert pid_gone(pid)


def test_kill_stopped_container_says_not_running(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.kill(b.id, "KILL")
    assert r.returncode != 0
    assert "container not running" in r.stderr.lower()


def test_run_detach_returns_while_running(bundle, runtime):
    b = bundle(["sleep", "1000"])
    t0 = time.monotonic()
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 10
    st = runtime.state_json(b.id)
    assert st["status"] == "running"
    assert os.path.exists("/proc/%d" % st["pid"])


def test_delete_running_needs_force(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    pid = runtime.state_json(b.id)["pid"]
    r = runtime.delete(b.id)
    assert r.returncode != 0
    assert runtime.state_json(b.id)["status"] == "running"
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert "does not exist" in runtime.state(b.id).stderr
    assert wait_for(lambda: pid_gone(pid))


def test_delete_created_container(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    pid = runtime.state_json(b.id)["pid"]
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert runtime.state(b.id).returncode != 0
    assert wait_for(lambda: pid_gone(pid))


def test_delete_force_of_unknown_id(runtime, new_id):
    # runc: `delete --force` of a missing container is not an error
    r = runtime.delete(new_id(), force=True)
    assert r.returncode == 0, r.stderr


def test_delete_unknown_id_fails(runtime, new_id):
    r = runtime.delete(new_id())
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_start_running_container_fails(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    r = runtime.start(b.id)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert runtime.state_json(b.id)["status"] == "running"


def test_start_stopped_container_fails(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.start(b.id)
    assert r.returncode != 0


def test_duplicate_id_fails(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.create(b).returncode == 0
    r = runtime.create(b)
    assert r.returncode != 0
    assert b.id in r.stderr or "exist" in r.stderr
    assert runtime.state_json(b.id)["status"] == "created"


def test_pid_file_written_before_create_returns(bundle, runtime, tmpdir_s):
    b = bundle(["sleep", "1000"])
    pidfile = os.path.join(tmpdir_s, "init.pid")
    r = runtime.create(b, "--pid-file", pidfile)
    assert r.returncode == 0, r.stderr
    with open(pidfile) as f:
        pid = int(f.read().strip())
    assert pid == runtime.state_json(b.id)["pid"]
    assert os.path.exists("/proc/%d" % pid)


def test_pid_file_relative_path_is_resolved(bundle, runtime, tmpdir_s):
    b = bundle(["sleep", "1000"])
    b.save()
    r = runtime.cmd("create", "--bundle", b.path, "--pid-file", "rel.pid", b.id,
                    cwd=tmpdir_s)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(tmpdir_s, "rel.pid")) as f:
        assert int(f.read()) == runtime.state_json(b.id)["pid"]


def test_state_json_fields(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.config["annotations"] = {"org.example.key": "value", "com.example.x": "y"}
    assert runtime.create(b).returncode == 0
    st = runtime.state_json(b.id)
    for key in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                "owner", "annotations"):
        assert key in st, key
    assert st["id"] == b.id
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    assert os.path.realpath(st["rootfs"]) == os.path.realpath(b.rootfs)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                    st["created"]), st["created"]
    assert st["annotations"] == {"org.example.key": "value", "com.example.x": "y"}
    assert re.match(r"^1\.\d+\.\d+", st["ociVersion"])


def test_state_of_unknown_id(runtime, new_id):
    r = runtime.state(new_id())
    assert r.returncode != 0
    assert "does not exist" in r.stderr
    assert r.stdout == ""


def test_stopped_state_pid_zero(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    st = runtime.wait_status(b.id, "stopped")
    assert st["pid"] == 0


def test_exec_in_running_container(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.config["hostname"] = "exec-host"
    b.process["env"].append("FROM_CONFIG=1")
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "sh", "-c", "hostname; echo $FROM_CONFIG; cat /proc/1/cmdline")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "exec-host"
    assert lines[2].startswith("sleep")


def test_exec_exit_status(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "sh", "-c", "exit 5")
    assert r.returncode == 5


def test_exec_process_json(bundle, runtime, tmpdir_s):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    proc = dict(b.process)
    proc.update({"args": ["sh", "-c", "id -u; pwd; echo $X"], "cwd": "/tmp",
                 "env": ["PATH=/bin", "X=from-process-json"],
                 "user": {"uid": 1000, "gid": 1000}})
    path = os.path.join(tmpdir_s, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    r = runtime.exec(b.id, opts=("--process", path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000", "/tmp", "from-process-json"]


def test_exec_in_stopped_container_fails(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.exec(b.id, "true")
    assert r.returncode != 0


def test_container_exit_reaps_its_pid_namespace(bundle, runtime):
    b = bundle(["sh", "-c", "sleep 1000 & echo started; sleep 0.3"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_status(b.id, "stopped")
    cg = b.cgroup
    assert wait_for(lambda: not cgroup_procs(cg))


# ------------------------------------------------- verbs engines also use ---
def test_ps_format_json(bundle, runtime):
    b = bundle(["sh", "-c", "sleep 1000 & echo started; wait"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "started")
    r = runtime.cmd("ps", "--format", "json", b.id)
    assert r.returncode == 0, r.stderr
    pids = json.loads(r.stdout)
    assert isinstance(pids, list) and all(isinstance(p, int) for p in pids)
    assert runtime.state_json(b.id)["pid"] in pids
    assert len(pids) == 2


def test_ps_table(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.cmd("ps", b.id)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "PID" in lines[0].split()
    assert any(str(runtime.state_json(b.id)["pid"]) in l.split() for l in lines[1:])


def test_pause_resume(bundle, runtime):
    b = bundle(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "3")
    r = runtime.cmd("pause", b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state_json(b.id)["status"] == "paused"
    time.sleep(0.2)
    n1 = len(runtime.output(b.id)[0].split())
    time.sleep(0.5)
    assert len(runtime.output(b.id)[0].split()) == n1, "output grew while paused"
    r = runtime.cmd("resume", b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state_json(b.id)["status"] == "running"
    assert wait_for(lambda: len(runtime.output(b.id)[0].split()) > n1)


def test_run_detach_pid_file(bundle, runtime, tmpdir_s):
    b = bundle(["sleep", "1000"])
    pidfile = os.path.join(tmpdir_s, "run.pid")
    assert runtime.run(b, "--pid-file", pidfile, detach=True).returncode == 0
    with open(pidfile) as f:
        assert int(f.read()) == runtime.state_json(b.id)["pid"]


def test_exec_detach_pid_file(bundle, runtime, tmpdir_s):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    pidfile = os.path.join(tmpdir_s, "exec.pid")
    r = runtime.exec(b.id, "sleep", "1000", opts=("--detach", "--pid-file", pidfile))
    assert r.returncode == 0, r.stderr
    with open(pidfile) as f:
        pid = int(f.read())
    assert pid in cgroup_procs(b.cgroup)
    with open("/proc/%d/cmdline" % pid) as f:
        assert f.read().split("\0")[0] == "sleep"

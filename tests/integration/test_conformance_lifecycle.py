"""Conformance: the state/lifecycle contract of runtime-spec runtime.md
(create/start/kill/delete/state) as an outside validator checks it.
Complements test_lifecycle.py."""
import json
import os
import time

import pytest

from helpers.bundle import SYSTEMD
from helpers.util import cgroup_procs, pid_gone, wait_for


def _cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[:-1]


def test_created_pid_is_live_and_not_yet_the_user_command(bundle, runtime, host_ns):
    b = bundle(["sleep", "1000"])
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    st = runtime.state_json(b.id)
    assert st["status"] == "created"
    pid = st["pid"]
    assert not pid_gone(pid)
    assert _cmdline(pid) != [b"sleep", b"1000"]
    # the environment is already set up: the process sits in the container's
    # cgroup and namespaces
    assert pid in cgroup_procs(b.cgroup)
    for ns in ("net", "uts", "ipc", "mnt", "pid"):
        assert os.readlink("/proc/%d/ns/%s" % (pid, ns)) != host_ns(ns), ns
    assert runtime.start(b.id).returncode == 0
    assert wait_for(lambda: _cmdline(pid) == [b"sleep", b"1000"])
    st = runtime.state_json(b.id)
    assert st["status"] == "running" and st["pid"] == pid


def test_stopped_container_stays_until_delete(bundle, runtime):
    b = bundle(["true"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_status(b.id, "stopped")
    time.sleep(0.2)
    st = runtime.state_json(b.id)
    assert st["status"] == "stopped" and st["id"] == b.id
    assert runtime.delete(b.id).returncode == 0
    assert runtime.state(b.id).returncode != 0


def test_kill_created_container(bundle, runtime, tmpdir_s):
    # kill MUST work on a "created" container (runtime.md: neither created nor
    # running -> error; created -> the signal is sent)
    os.chmod(tmpdir_s, 0o777)
    b = bundle(["sh", "-c", "touch /shared/ran"])
    b.add_mount("/shared", "bind", tmpdir_s, ["bind", "rw"])
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    pid = runtime.state_json(b.id)["pid"]
    r = runtime.kill(b.id, "KILL")
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    assert wait_for(lambda: pid_gone(pid))
    assert not os.path.exists(os.path.join(tmpdir_s, "ran"))
    # a stopped container cannot be started
    assert runtime.start(b.id).returncode != 0
    assert not os.path.exists(os.path.join(tmpdir_s, "ran"))
    assert runtime.delete(b.id).returncode == 0


def test_start_twice_runs_the_process_once(bundle, runtime, tmpdir_s):
    os.chmod(tmpdir_s, 0o777)
    b = bundle(["sh", "-c", "echo ran >> /shared/log"])
    b.add_mount("/shared", "bind", tmpdir_s, ["bind", "rw"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.start(b.id)
    assert r.returncode != 0
    assert r.stderr.strip()
    time.sleep(0.2)
    with open(os.path.join(tmpdir_s, "log")) as f:
        assert f.read() == "ran\n"
    assert runtime.state_json(b.id)["status"] == "stopped"


def test_delete_created_container_without_force_works(bundle, runtime):
    # runtime.md says deleting a container that is not stopped MUST fail, but
    # runc deletes a created container (killing its init), and containerd's
    # shim depends on it: it deletes a created task without --force when a
    # start fails or a task is removed before it ran. husk keeps runc's way.
    b = bundle(["sleep", "1000"])
    assert runtime.create(b).returncode == 0
    pid = runtime.state_json(b.id)["pid"]
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state(b.id).returncode != 0
    deadline = time.time() + 5
    while not pid_gone(pid) and time.time() < deadline:
        time.sleep(0.02)
    assert pid_gone(pid)


def test_delete_stopped_removes_cgroup_and_state(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    cg = [p + b.cgroup for p in ("/sys/fs/cgroup/pids",
                                                       "/sys/fs/cgroup/memory",
                                                       "/sys/fs/cgroup/unified",
                                                       "/sys/fs/cgroup")]
    # systemd removes a scope (and its cgroup) by itself once it is empty
    assert SYSTEMD or any(os.path.isdir(p) for p in cg)
    assert runtime.delete(b.id).returncode == 0
    assert not any(os.path.isdir(p) for p in cg)
    assert runtime.state(b.id).returncode != 0


def test_id_reusable_after_delete(bundle, runtime):
    b = bundle(["echo", "first"])
    assert runtime.run(b).returncode == 0
    b.set_args("echo", "second")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "second\n"


def test_config_changes_after_create_have_no_effect(bundle, runtime):
    b = bundle(["sh", "-c", "echo original $MARK; hostname"])
    b.process["env"].append("MARK=one")
    b.config["hostname"] = "host-one"
    assert runtime.create(b).returncode == 0
    # rewrite config.json between create and start
    cfg = b.copy_config()
    cfg["process"]["args"] = ["sh", "-c", "echo changed"]
    cfg["process"]["env"] = ["PATH=/bin", "MARK=two"]
    cfg["hostname"] = "host-two"
    with open(os.path.join(b.path, "config.json"), "w") as f:
        json.dump(cfg, f)
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert runtime.output(b.id)[0].split() == ["original", "one", "host-one"]


def test_state_json_has_required_fields_in_each_status(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.create(b).returncode == 0
    seen = {}
    seen["created"] = runtime.state_json(b.id)
    assert runtime.start(b.id).returncode == 0
    seen["running"] = runtime.state_json(b.id)
    assert runtime.kill(b.id, "KILL").returncode == 0
    seen["stopped"] = runtime.wait_status(b.id, "stopped")
    for status, st in seen.items():
        assert st["status"] == status
        for key in ("ociVersion", "id", "status", "bundle"):
            assert key in st, (status, key)
        assert os.path.isabs(st["bundle"])
        if status in ("created", "running"):
            assert isinstance(st["pid"], int) and st["pid"] > 0, status


def test_kill_running_with_signal_number(bundle, runtime):
    b = bundle(["sh", "-c", "trap 'echo got-hup; exit 0' HUP; echo started; "
                "while :; do sleep 0.1; done"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_output(b.id, "started")
    assert runtime.kill(b.id, "1").returncode == 0
    runtime.wait_status(b.id, "stopped")
    runtime.wait_output(b.id, "got-hup")

"""update, events, ps and pause/resume on a running container, checked in its
cgroup files and in the JSON shapes engines parse (runc's)."""
import json
import os
import subprocess
import time

import pytest

from test_resources import V2, cg_file, limit_file, read


def running(bundle, runtime, args=("sleep", "1000")):
    b = bundle(list(args))
    r = runtime.run(b, detach=True)
    assert r.returncode == 0, r.stderr
    return b


def test_update_flags_change_live_limits(bundle, runtime):
    b = running(bundle, runtime)
    r = runtime.cmd("update", "--memory", "64m", "--pids-limit=40", "--cpu-share", "256", b.id)
    assert r.returncode == 0, r.stderr
    assert read(limit_file(b, "memory", "memory.limit_in_bytes", "memory.max")) == str(64 << 20)
    assert read(cg_file(b, "pids", "pids.max")) == "40"
    # v2: cpu.weight = 1 + ((256 - 2) * 9999) / 262142
    assert read(limit_file(b, "cpu", "cpu.shares", "cpu.weight")) == ("10" if V2 else "256")


def test_update_resources_from_stdin(bundle, runtime):
    # containerd's shim: update --resources=- with linux.resources on stdin
    b = running(bundle, runtime)
    res = {"pids": {"limit": 33}, "cpu": {"quota": 20000, "period": 100000}}
    r = runtime.cmd("update", "--resources=-", b.id, input=json.dumps(res))
    assert r.returncode == 0, r.stderr
    assert read(cg_file(b, "pids", "pids.max")) == "33"
    if V2:
        assert read(cg_file(b, "cpu", "cpu.max")) == "20000 100000"
    else:
        assert read(cg_file(b, "cpu", "cpu.cfs_quota_us")) == "20000"


def test_update_bad_value_names_flag(bundle, runtime):
    b = running(bundle, runtime)
    r = runtime.cmd("update", "--memory", "lots", b.id)
    assert r.returncode != 0
    assert "memory" in r.stderr


def test_update_stopped_container_fails(bundle, runtime):
    b = bundle(["true"])
    assert runtime.run(b, detach=True).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.cmd("update", "--pids-limit", "10", b.id)
    assert r.returncode != 0
    assert "not running" in r.stderr


def test_events_stats_shape(bundle, runtime):
    b = running(bundle, runtime)
    r = runtime.cmd("events", "--stats", b.id)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == b.id
    data = ev["data"]
    assert data["cpu"]["usage"]["total"] > 0
    assert data["memory"]["usage"]["usage"] > 0
    assert data["pids"]["current"] >= 1


def test_events_reports_oom(bundle, runtime):
    # the memory hog is killed by the kernel; events must say so. The init
    # outlives it a little: with the systemd manager a scope and its cgroup
    # (and so its OOM count) go as soon as the last process is gone.
    b = bundle(["sh", "-c", "sleep 1; sh -c 'x=a; while true; do x=$x$x$x$x; done'; sleep 3"])
    b.linux["resources"]["memory"] = {"limit": 16 << 20, "swap": 16 << 20}
    assert runtime.run(b, detach=True).returncode == 0
    p = subprocess.Popen(runtime.argv("events", "--interval", "200ms", b.id),
                         stdout=subprocess.PIPE, text=True)
    try:
        out, _ = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    types = [json.loads(l)["type"] for l in out.splitlines() if l.strip()]
    assert "stats" in types
    assert "oom" in types, types


def test_ps_json_and_table(bundle, runtime):
    b = running(bundle, runtime)
    pid = runtime.state_json(b.id)["pid"]
    r = runtime.cmd("ps", "--format", "json", b.id)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [pid]
    r = runtime.cmd("ps", b.id)
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert "PID" in header.split()
    assert any(str(pid) in row.split() for row in rows)


def test_pause_freezes_and_resume_thaws(bundle, runtime):
    b = running(bundle, runtime)
    pid = runtime.state_json(b.id)["pid"]
    assert runtime.cmd("pause", b.id).returncode == 0
    assert runtime.state_json(b.id)["status"] == "paused"
    if V2:
        assert read(cg_file(b, "", "cgroup.freeze")) == "1"
        assert "frozen 1" in read(cg_file(b, "", "cgroup.events")).splitlines()
    else:
        assert read(cg_file(b, "freezer", "freezer.state")) == "FROZEN"
    r = runtime.cmd("pause", b.id)
    assert r.returncode != 0
    assert runtime.cmd("resume", b.id).returncode == 0
    assert runtime.state_json(b.id)["status"] == "running"
    assert os.path.exists("/proc/%d" % pid)
    if V2:
        assert read(cg_file(b, "", "cgroup.freeze")) == "0"

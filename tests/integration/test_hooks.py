"""hooks: order, namespaces, the state JSON on stdin, failures and timeouts."""
import json
import os
import time

import pytest

from helpers.util import wait_for

KINDS = ["prestart", "createRuntime", "createContainer", "startContainer",
         "poststart", "poststop"]
# runtime-spec (runtime.md, "Lifecycle" and config.md "Hooks") statuses
SPEC_STATUS = {"prestart": "creating", "createRuntime": "creating",
               "createContainer": "creating", "startContainer": "created",
               "poststart": "running", "poststop": "stopped"}

HOOK = """#!/bin/sh
# usage: hook KIND LOGDIR [exit-code]
kind=$1; dir=$2
echo "$kind" >> "$dir/order"
cat > "$dir/$kind.json"
echo "$@" > "$dir/$kind.args"
readlink /proc/self/ns/uts > "$dir/$kind.uts"
readlink /proc/self/ns/mnt > "$dir/$kind.mnt"
hostname > "$dir/$kind.hostname"
env > "$dir/$kind.env"
exit ${3:-0}
"""


class Hooks:
    """Writes a hook script on the host (and inside the rootfs for
    startContainer, whose path resolves in the container) and a log dir that
    the container sees at /hooklog."""

    def __init__(self, b, tmpdir):
        self.b = b
        self.dir = os.path.join(tmpdir, "hooklog")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)
        self.host_script = os.path.join(tmpdir, "hook.sh")
        with open(self.host_script, "w") as f:
            f.write(HOOK)
        os.chmod(self.host_script, 0o755)
        with open(os.path.join(b.rootfs, "hook.sh"), "w") as f:
            f.write(HOOK)
        os.chmod(os.path.join(b.rootfs, "hook.sh"), 0o755)
        b.add_mount("/hooklog", "bind", self.dir, ["bind", "rw"])
        b.config["hooks"] = {}

    def add(self, kind, exit_code=None, **extra):
        in_container = kind == "startContainer"
        path = "/hook.sh" if in_container else self.host_script
        logdir = "/hooklog" if in_container else self.dir
        args = [path, kind, logdir] + ([str(exit_code)] if exit_code is not None else [])
        h = {"path": path, "args": args,
             "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "HOOK_ENV=" + kind]}
        h.update(extra)
        self.b.config["hooks"].setdefault(kind, []).append(h)
        return h

    def add_all(self):
        for k in KINDS:
            self.add(k)

    def order(self):
        try:
            with open(os.path.join(self.dir, "order")) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def read(self, kind, what):
        with open(os.path.join(self.dir, "%s.%s" % (kind, what))) as f:
            return f.read()

    def state(self, kind):
        return json.loads(self.read(kind, "json"))


def full_lifecycle(runtime, b):
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    r = runtime.start(b.id)
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr


def test_create_runs_create_hooks_in_order(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add_all()
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    assert h.order()[:3] == ["prestart", "createRuntime", "createContainer"]
    assert "startContainer" not in h.order() and "poststop" not in h.order()
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert wait_for(lambda: "startContainer" in h.order())
    assert "poststop" not in h.order()
    assert runtime.delete(b.id).returncode == 0
    assert sorted(h.order()) == sorted(KINDS)
    assert h.order()[-1] == "poststop"


@pytest.mark.husk_only  # runc 1.1 runs poststart during `create` (runc#4347; fixed upstream by #5186)
def test_hooks_run_in_spec_order(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add_all()
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    assert h.order() == ["prestart", "createRuntime", "createContainer"]
    assert runtime.start(b.id).returncode == 0
    # poststart runs before `start` returns
    assert h.order() == KINDS[:5]
    runtime.wait_status(b.id, "stopped")
    assert runtime.delete(b.id).returncode == 0
    assert h.order() == KINDS


def test_hooks_with_run(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add_all()
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    order = h.order()
    assert sorted(order) == sorted(KINDS)
    assert order[:3] == ["prestart", "createRuntime", "createContainer"]
    assert order[-1] == "poststop"


@pytest.mark.husk_only  # runc 1.1 runs poststart before startContainer (runc#4347)
def test_hooks_with_run_spec_order(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add_all()
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert h.order() == KINDS


def test_multiple_hooks_of_a_kind_run_in_order(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    b.config["hooks"] = {}
    log = os.path.join(tmpdir_s, "multi")
    for n in range(3):
        b.config["hooks"].setdefault("createRuntime", []).append(
            {"path": "/bin/sh", "args": ["sh", "-c", "echo %d >> %s" % (n, log)]})
    assert runtime.run(b).returncode == 0
    with open(log) as f:
        assert f.read().split() == ["0", "1", "2"]


def test_hook_state_on_stdin(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    b.config["annotations"] = {"org.example.hook": "yes"}
    h = Hooks(b, tmpdir_s)
    h.add_all()
    full_lifecycle(runtime, b)
    for kind in KINDS:
        st = h.state(kind)
        assert st["id"] == b.id, kind
        assert st["ociVersion"], kind
        assert st["status"] in ("creating", "created", "running", "stopped"), kind
        if kind != "startContainer":   # inside the container the bundle path is a host path
            assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path), kind
        assert st.get("annotations") == {"org.example.hook": "yes"}, kind
        if kind not in ("poststop",):
            assert st["pid"] > 0, kind


@pytest.mark.husk_only  # runc 1.1 runs poststart during create and passes it "created"
def test_hook_state_status_follows_spec(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add_all()
    full_lifecycle(runtime, b)
    got = {k: h.state(k)["status"] for k in KINDS}
    assert got == SPEC_STATUS


def test_hook_state_status_created_and_stopped(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add_all()
    full_lifecycle(runtime, b)
    assert h.state("startContainer")["status"] == "created"
    assert h.state("poststop")["status"] == "stopped"


def test_hook_args_and_env(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    h = Hooks(b, tmpdir_s)
    h.add("createRuntime")
    h.add("startContainer")
    assert runtime.run(b).returncode == 0
    assert h.read("createRuntime", "args").split() == ["createRuntime", h.dir]
    env = h.read("createRuntime", "env").splitlines()
    assert "HOOK_ENV=createRuntime" in env
    env = h.read("startContainer", "env").splitlines()
    assert "HOOK_ENV=startContainer" in env


def test_hook_namespaces(bundle, runtime, tmpdir_s, host_ns):
    b = bundle(["sh", "-c", "readlink /proc/self/ns/uts; readlink /proc/self/ns/mnt"])
    b.config["hostname"] = "hooked"
    h = Hooks(b, tmpdir_s)
    h.add_all()
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    c_uts, c_mnt = r.stdout.split()
    # runtime-namespace hooks
    for kind in ("prestart", "createRuntime", "poststart", "poststop"):
        assert h.read(kind, "uts").strip() == host_ns("uts"), kind
        assert h.read(kind, "mnt").strip() == host_ns("mnt"), kind
    # container-namespace hooks
    for kind in ("createContainer", "startContainer"):
        assert h.read(kind, "uts").strip() == c_uts, kind
        assert h.read(kind, "mnt").strip() == c_mnt, kind
    assert h.read("startContainer", "hostname").strip() == "hooked"


@pytest.mark.husk_only  # runc sets the hostname only after the createContainer hooks
def test_create_container_hook_sees_container_hostname(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    b.config["hostname"] = "hooked"
    h = Hooks(b, tmpdir_s)
    h.add("createContainer")
    assert runtime.run(b).returncode == 0
    assert h.read("createContainer", "hostname").strip() == "hooked"


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_cleans_up(bundle, runtime, tmpdir_s, leaks, kind):
    b = bundle(["true"])
    b.config["hooks"] = {kind: [{"path": "/bin/sh", "args": [
        "sh", "-c", "echo hook-says-no-%s >&2; exit 3" % kind]}]}
    before = leaks.snapshot()
    r = runtime.create(b)
    assert r.returncode != 0
    assert "hook-says-no-" + kind in r.stderr
    assert runtime.state(b.id).returncode != 0
    leaks.assert_clean(before)


@pytest.mark.husk_only  # runc 1.1 `start` returns 0; the init fails after start returned
def test_failing_start_container_hook_fails_start(bundle, runtime, tmpdir_s):
    b = bundle(["sh", "-c", "echo user-process-ran"])
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": [
        "sh", "-c", "echo start-hook-says-no >&2; exit 4"]}]}
    assert runtime.create(b).returncode == 0
    r = runtime.start(b.id)
    assert r.returncode != 0
    time.sleep(0.2)
    out, err = runtime.output(b.id)
    assert "user-process-ran" not in out
    assert "start-hook-says-no" in r.stderr + err


def test_failing_poststop_hook_does_not_fail_delete(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    b.config["hooks"] = {"poststop": [{"path": "/bin/false", "args": ["false"]}]}
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.delete(b.id)
    # spec: a failing poststop hook is logged as a warning; delete goes on
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip(), "the hook failure was not reported"
    assert runtime.state(b.id).returncode != 0


def test_hook_timeout(bundle, runtime, tmpdir_s, leaks):
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "20"],
                                            "timeout": 1}]}
    before = leaks.snapshot()
    t0 = time.monotonic()
    r = runtime.create(b)
    assert time.monotonic() - t0 < 10
    assert r.returncode != 0
    assert "timeout" in r.stderr.lower() or "timed out" in r.stderr.lower()
    leaks.assert_clean(before)


def test_hook_path_missing_fails(bundle, runtime, tmpdir_s, leaks):
    b = bundle(["true"])
    missing = os.path.join(tmpdir_s, "no-such-hook")
    b.config["hooks"] = {"prestart": [{"path": missing}]}
    before = leaks.snapshot()
    r = runtime.create(b)
    assert r.returncode != 0
    assert "no-such-hook" in r.stderr
    leaks.assert_clean(before)

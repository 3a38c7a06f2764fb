"""Conformance: hooks[] entries' args/env/timeout and when poststop runs,
checked through files the hooks write.  Complements test_hooks.py."""
import os
import time

from helpers.util import pid_gone, wait_for


def _log(tmpdir, name):
    return os.path.join(tmpdir, name)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def sh_hook(script, **extra):
    h = {"path": "/bin/sh", "args": ["sh", "-c", script]}
    h.update(extra)
    return h


def test_hook_args_are_argv_including_argv0(bundle, runtime, tmpdir_s):
    # args[0] is argv[0]: busybox picks its applet from it
    log = _log(tmpdir_s, "argv")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/busybox",
        "args": ["sh", "-c", 'printf "%s|" "$0" "$@" > ' + log, "zero", "a b", "", "$HOME"]}]}
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert _read(log) == "zero|a b||$HOME|"


def test_hook_env_is_exactly_the_configured_env(bundle, runtime, tmpdir_s):
    log = _log(tmpdir_s, "env")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/busybox", "args": ["sh", "-c", "exec /usr/bin/env > " + log],
        "env": ["HOOK_A=1", "HOOK_B=two words", "PATH=/hook/path"]}]}
    b.save()
    env = dict(os.environ, HUSK_RUNTIME_ONLY="leak")
    r = runtime.cmd("run", "--bundle", b.path, b.id, env=env)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    lines = [l for l in _read(log).splitlines() if l]
    assert "HOOK_A=1" in lines and "HOOK_B=two words" in lines
    assert "PATH=/hook/path" in lines
    assert not any(l.startswith("HUSK_RUNTIME_ONLY=") for l in lines), lines
    # sh may add PWD/SHLVL; nothing else from the runtime's environment
    extra = [l for l in lines if l.split("=", 1)[0] not in ("HOOK_A", "HOOK_B", "PATH", "PWD",
                                                               "SHLVL", "OLDPWD", "_")]
    assert extra == [], extra


def test_hook_timeout_kills_the_hook(bundle, runtime, tmpdir_s, leaks):
    pidfile = _log(tmpdir_s, "hook.pid")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [sh_hook("echo $$ > %s; exec sleep 30" % pidfile,
                                                   timeout=1)]}
    before = leaks.snapshot()
    t0 = time.monotonic()
    r = runtime.create(b)
    took = time.monotonic() - t0
    assert r.returncode != 0
    assert took < 10, took
    pid = int(_read(pidfile))
    assert wait_for(lambda: pid_gone(pid), timeout=5), "the timed-out hook still runs"
    assert runtime.state(b.id).returncode != 0
    leaks.assert_clean(before)


def test_hook_within_timeout_succeeds(bundle, runtime, tmpdir_s):
    log = _log(tmpdir_s, "slow-ok")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [sh_hook("sleep 0.3; echo done > " + log,
                                                   timeout=5)]}
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert _read(log) == "done\n"


def test_poststart_hook_timeout_does_not_leave_hook(bundle, runtime, tmpdir_s):
    pidfile = _log(tmpdir_s, "poststart.pid")
    b = bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststart": [sh_hook("echo $$ > %s; exec sleep 30" % pidfile,
                                               timeout=1)]}
    # (runc 1.1 runs poststart during create, husk during start: either may fail)
    t0 = time.monotonic()
    if runtime.create(b).returncode == 0:
        runtime.start(b.id)
    assert time.monotonic() - t0 < 10
    assert wait_for(lambda: _read(pidfile) is not None, timeout=5)
    pid = int(_read(pidfile))
    assert wait_for(lambda: pid_gone(pid), timeout=5), "the timed-out hook still runs"


def test_poststop_runs_on_delete_of_created_container(bundle, runtime, tmpdir_s):
    log = _log(tmpdir_s, "poststop")
    b = bundle(["true"])
    b.config["hooks"] = {"poststop": [sh_hook("cat > " + log)]}
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    assert _read(log) is None
    r = runtime.delete(b.id)
    assert r.returncode == 0, r.stderr
    assert _read(log) is not None, "poststop did not run"
    assert '"%s"' % b.id in _read(log)


def test_poststop_runs_on_force_delete_of_running_container(bundle, runtime, tmpdir_s):
    log = _log(tmpdir_s, "poststop")
    b = bundle(["sleep", "1000"])
    b.config["hooks"] = {"poststop": [sh_hook("cat > " + log)]}
    assert runtime.run(b, detach=True).returncode == 0
    assert _read(log) is None
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, r.stderr
    assert _read(log) is not None, "poststop did not run"


def test_poststop_runs_once_per_container(bundle, runtime, tmpdir_s):
    log = _log(tmpdir_s, "poststop-count")
    b = bundle(["true"])
    b.config["hooks"] = {"poststop": [sh_hook("echo ran >> " + log)]}
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    assert _read(log) is None, "poststop ran before delete"
    assert runtime.delete(b.id).returncode == 0
    runtime.delete(b.id, force=True)
    assert _read(log) == "ran\n"


def test_hooks_of_failing_create_run_poststop(bundle, runtime, tmpdir_s, leaks):
    # runtime.md lifecycle: a failing createRuntime hook stops the container
    # and the lifecycle continues at step 12 (destroy) and 13 (poststop hooks)
    log = _log(tmpdir_s, "poststop-after-fail")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [sh_hook("exit 1")],
                         "poststop": [sh_hook("echo ran > " + log)]}
    before = leaks.snapshot()
    r = runtime.create(b)
    assert r.returncode != 0
    leaks.assert_clean(before)
    assert _read(log) == "ran\n"


def test_hook_cwd_is_bundle(bundle, runtime, tmpdir_s):
    # runc runs create/run from the bundle directory; hooks inherit that cwd
    log = _log(tmpdir_s, "cwd")
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [sh_hook("pwd -P > " + log)]}
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert _read(log).strip() == os.path.realpath(b.path)


def test_hook_stdout_does_not_reach_runtime_stdout(bundle, runtime, tmpdir_s):
    b = bundle(["echo", "from-container"])
    b.config["hooks"] = {k: [sh_hook("echo from-%s-hook" % k)]
                         for k in ("prestart", "createRuntime", "poststart", "poststop")}
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from-container\n"

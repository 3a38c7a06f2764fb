"""Command line: list, state, spec, features, --version, --help, flag forms,
--log / --log-format json and the error phrases engines match on."""
import json
import os
import re

import pytest

COMMANDS = ["create", "start", "run", "state", "kill", "delete", "list", "spec", "exec",
            "features", "ps", "pause", "resume", "events", "update"]


# ------------------------------------------------------------------ list ---
def test_list_table_json_quiet(bundle, runtime):
    a = bundle(["sleep", "1000"])
    c = bundle(["sleep", "1000"])
    assert runtime.run(a, detach=True).returncode == 0
    assert runtime.create(c).returncode == 0

    r = runtime.list()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert rows[a.id][2] == "running"
    assert rows[c.id][2] == "created"
    assert int(rows[a.id][1]) == runtime.state_json(a.id)["pid"]
    assert rows[a.id][3] == a.path

    r = runtime.list("--format", "json")
    assert r.returncode == 0, r.stderr
    data = {x["id"]: x for x in json.loads(r.stdout)}
    assert data[a.id]["status"] == "running"
    assert data[c.id]["status"] == "created"
    for key in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"):
        assert key in data[a.id], key

    r = runtime.list("-q")
    assert r.returncode == 0, r.stderr
    assert {a.id, c.id} <= set(r.stdout.split())


def test_list_format_equals_form(bundle, runtime):
    a = bundle(["sleep", "1000"])
    assert runtime.run(a, detach=True).returncode == 0
    r = runtime.list("--format=json")
    assert r.returncode == 0, r.stderr
    assert a.id in [x["id"] for x in json.loads(r.stdout)]


def test_list_empty_root(runtime, tmpdir_s):
    root = os.path.join(tmpdir_s, "empty-root")
    r = runtime.cmd("list", "--format", "json", root=False, global_args=("--root", root))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) in (None, [])
    r = runtime.cmd("list", root=False, global_args=("--root", root))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    r = runtime.cmd("list", "-q", root=False, global_args=("--root", root))
    assert r.returncode == 0 and r.stdout == ""


# ----------------------------------------------------------------- state ---
def test_state_created_running_stopped(bundle, runtime):
    b = bundle(["sh", "-c", "read x"])   # stdin is /dev/null: exits at once after start
    assert runtime.create(b).returncode == 0
    assert runtime.state_json(b.id)["status"] == "created"
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")


def test_state_unknown_says_does_not_exist(runtime, new_id):
    r = runtime.state(new_id())
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_kill_unknown_says_does_not_exist(runtime, new_id):
    r = runtime.kill(new_id(), "KILL")
    assert r.returncode != 0
    assert "does not exist" in r.stderr


def test_kill_stopped_says_not_running(bundle, runtime):
    b = bundle(["true"])
    assert runtime.create(b).returncode == 0
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    r = runtime.kill(b.id, "9")
    assert r.returncode != 0
    assert "container not running" in r.stderr


# ------------------------------------------------------------------ spec ---
def test_spec_default(runtime, tmpdir_s):
    r = runtime.cmd("spec", cwd=tmpdir_s)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(tmpdir_s, "config.json")) as f:
        cfg = json.load(f)
    assert re.match(r"^1\.\d+\.\d+", cfg["ociVersion"])
    assert cfg["root"] == {"path": "rootfs", "readonly": True}
    p = cfg["process"]
    assert p["terminal"] is True
    assert p["args"] == ["sh"]
    assert p["cwd"] == "/"
    assert p["user"]["uid"] == 0 and p["user"]["gid"] == 0
    assert any(e.startswith("PATH=") for e in p["env"])
    assert p["noNewPrivileges"] is True
    for k in ("bounding", "effective", "permitted"):
        assert set(p["capabilities"][k]) == {"CAP_AUDIT_WRITE", "CAP_KILL",
                                             "CAP_NET_BIND_SERVICE"}
    assert {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024} in p["rlimits"]
    assert cfg["hostname"]
    dests = [m["destination"] for m in cfg["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"):
        assert d in dests
    ns = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert ns == {"pid", "network", "ipc", "uts", "mount"}
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"]
    assert "/proc/sys" in cfg["linux"]["readonlyPaths"]
    assert {"allow": False, "access": "rwm"} in cfg["linux"]["resources"]["devices"]


def test_spec_bundle_flag_and_refuses_overwrite(runtime, tmpdir_s):
    r = runtime.cmd("spec", "--bundle", tmpdir_s)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(tmpdir_s, "config.json"))
    r = runtime.cmd("spec", "--bundle=" + tmpdir_s)
    assert r.returncode != 0
    assert "config.json" in r.stderr and "exist" in r.stderr


def test_spec_rootless(runtime, tmpdir_s):
    r = runtime.cmd("spec", "--rootless", cwd=tmpdir_s)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(tmpdir_s, "config.json")) as f:
        cfg = json.load(f)
    ns = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in ns and "network" not in ns
    assert cfg["linux"]["uidMappings"][0]["containerID"] == 0
    assert cfg["linux"]["uidMappings"][0]["hostID"] == os.geteuid()
    assert cfg["linux"]["gidMappings"][0]["hostID"] == os.getegid()
    assert "resources" not in cfg["linux"]
    sys_mount = [m for m in cfg["mounts"] if m["destination"] == "/sys"][0]
    assert "rbind" in sys_mount["options"]


def test_spec_output_runs(bundle, runtime, tmpdir_s):
    """The generated config.json is usable as is (after the test's edits)."""
    b = bundle()
    os.remove(os.path.join(b.path, "config.json"))
    assert runtime.cmd("spec", "--bundle", b.path).returncode == 0
    with open(os.path.join(b.path, "config.json")) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["echo", "spec-works"]
    cfg["linux"]["cgroupsPath"] = b.config["linux"]["cgroupsPath"]
    b.config = cfg
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "spec-works\n"


# -------------------------------------------------------------- features ---
def test_features(runtime):
    r = runtime.cmd("features")
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert re.match(r"^1\.0\.\d+", f["ociVersionMin"])
    assert re.match(r"^1\.\d+\.\d+", f["ociVersionMax"])
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer",
                               "startContainer", "poststart", "poststop"}
    assert set(f["mountOptions"]) >= {"bind", "rbind", "ro", "nosuid", "nodev", "noexec",
                                      "rprivate", "rslave"}
    lx = f["linux"]
    assert set(lx["namespaces"]) >= {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}
    assert set(lx["capabilities"]) >= {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"}
    assert all(c.startswith("CAP_") for c in lx["capabilities"])
    sc = lx["seccomp"]
    assert sc["enabled"] is True
    assert set(sc["actions"]) >= {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"}
    assert set(sc["operators"]) >= {"SCMP_CMP_EQ", "SCMP_CMP_NE"}
    assert "SCMP_ARCH_X86_64" in sc["archs"]
    assert lx["cgroup"]["v1"] is True


@pytest.mark.husk_only  # husk advertises spec 1.1 fields runc 1.1.5 lacks (time ns, knownFlags)
def test_features_husk(runtime):
    f = json.loads(runtime.cmd("features").stdout)
    assert "time" in f["linux"]["namespaces"]
    assert "knownFlags" in f["linux"]["seccomp"]
    assert f["ociVersionMax"].startswith("1.")


# --------------------------------------------------------------- version ---
def test_version(runtime):
    r = runtime.cmd("--version", root=False)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert re.match(r"^\S+ version \S+", lines[0]), lines
    assert any(re.match(r"^spec: 1\.\d+\.\d+", l) for l in lines), lines
    assert any(l.startswith("commit: ") for l in lines), lines


@pytest.mark.husk_only  # runc says "runc version X"
def test_version_names_husk(runtime):
    r = runtime.cmd("--version", root=False)
    assert re.match(r"^husk version \d+\.\d+\.\d+", r.stdout.splitlines()[0])


def test_short_version_flag(runtime):
    r = runtime.cmd("-v", root=False)
    assert r.returncode == 0
    assert " version " in r.stdout.splitlines()[0]


# ------------------------------------------------------------------ help ---
def test_help(runtime):
    r = runtime.cmd("--help", root=False)
    assert r.returncode == 0, r.stderr
    for c in COMMANDS:
        assert re.search(r"^\s+%s\b" % c, r.stdout, re.M), c


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help_exits_zero(runtime, cmd):
    r = runtime.cmd(cmd, "--help", root=False)
    assert r.returncode == 0, (cmd, r.stderr)
    assert cmd in r.stdout
    assert r.stdout.strip()


@pytest.mark.parametrize("cmd", ["create", "start", "state", "kill", "delete", "exec"])
def test_command_missing_id_fails(runtime, cmd):
    r = runtime.cmd(cmd)
    assert r.returncode != 0
    assert r.stderr.strip()


def test_unknown_command_fails(runtime):
    r = runtime.cmd("frobnicate")
    assert r.returncode != 0
    assert "frobnicate" in r.stderr


def test_unknown_flag_fails(runtime, new_id):
    r = runtime.cmd("state", "--no-such-flag", new_id())
    assert r.returncode != 0
    assert "no-such-flag" in r.stderr


# ------------------------------------------------------------ flag forms ---
def test_flag_equals_forms(bundle, runtime, tmpdir_s):
    b = bundle(["echo", "equals-forms"])
    b.save()
    log = os.path.join(tmpdir_s, "log.json")
    pidfile = os.path.join(tmpdir_s, "pid")
    r = runtime.cmd("--root=" + runtime.root, "--log=" + log, "--log-format=json",
                    "create", "--bundle=" + b.path, "--pid-file=" + pidfile, b.id, root=False)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(pidfile)
    assert runtime.state_json(b.id)["status"] == "created"


def test_flag_space_forms(bundle, runtime, tmpdir_s):
    b = bundle(["echo", "space-forms"])
    b.save()
    log = os.path.join(tmpdir_s, "log.json")
    r = runtime.cmd("--root", runtime.root, "--log", log, "--log-format", "json",
                    "run", "--bundle", b.path, b.id, root=False)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "space-forms\n"


def test_bundle_short_flag_and_default_cwd(bundle, runtime):
    b = bundle(["echo", "short-b"])
    b.save()
    r = runtime.cmd("run", "-b", b.path, b.id)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "short-b\n"
    c = bundle(["echo", "cwd-bundle"])
    c.save()
    r = runtime.cmd("run", c.id, cwd=c.path)
    runtime.track(c.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "cwd-bundle\n"


def test_debug_flag_accepted(bundle, runtime):
    b = bundle(["echo", "debugged"])
    r = runtime.run(b, global_args=("--debug",))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "debugged\n"


def test_delete_force_short_flag(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.cmd("delete", "-f", b.id)
    assert r.returncode == 0, r.stderr
    assert runtime.state(b.id).returncode != 0


def test_kill_all_short_flag(bundle, runtime):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.cmd("kill", "-a", b.id, "KILL")
    assert r.returncode == 0, r.stderr
    runtime.wait_status(b.id, "stopped")


# ------------------------------------------------------------------- log ---
def read_json_lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f.read().splitlines() if l.strip()]


def test_log_format_json_on_failure(runtime, new_id, tmpdir_s):
    log = os.path.join(tmpdir_s, "log.json")
    r = runtime.cmd("state", new_id(), global_args=("--log", log, "--log-format", "json"))
    assert r.returncode != 0
    entries = read_json_lines(log)
    assert entries
    for e in entries:
        assert {"level", "msg", "time"} <= set(e)
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", e["time"])
    assert entries[-1]["level"] == "error"
    assert "does not exist" in entries[-1]["msg"]


def test_log_json_create_failure_last_line_is_the_error(bundle, runtime, tmpdir_s):
    b = bundle(["true"])
    b.add_mount("/mnt", "nosuchfs", "none", [])
    log = os.path.join(tmpdir_s, "log.json")
    r = runtime.create(b, global_args=("--log=" + log, "--log-format=json"))
    assert r.returncode != 0
    entries = read_json_lines(log)
    assert entries[-1]["level"] == "error"
    assert "/mnt" in entries[-1]["msg"]


def test_log_json_single_object_on_failure(runtime, new_id, tmpdir_s):
    log = os.path.join(tmpdir_s, "log.json")
    # podman json.Unmarshal()s the whole log file: a plain failure writes one object
    runtime.cmd("state", new_id(), global_args=("--log", log, "--log-format", "json"))
    with open(log) as f:
        obj = json.loads(f.read())
    assert obj["level"] == "error"


def test_log_text_format(runtime, new_id, tmpdir_s):
    log = os.path.join(tmpdir_s, "log.txt")
    r = runtime.cmd("state", new_id(), global_args=("--log", log))
    assert r.returncode != 0
    with open(log) as f:
        assert "does not exist" in f.read()


@pytest.mark.husk_only  # husk's own error format
def test_error_message_prefix(runtime, new_id):
    r = runtime.state(new_id())
    assert re.match(r"^husk: .+: .+", r.stderr.splitlines()[-1]), r.stderr

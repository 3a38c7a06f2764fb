"""Bad input: every failure exits non-zero, says what is wrong on stderr and
leaves nothing behind (no state dir under --root, no cgroup, no mount, no
process).  husk prints `husk: <what>: <why>`; where runc's text is vaguer the
stricter expectation is a separate husk_only test."""
import json
import os
import re
import shutil

import pytest

from helpers.util import cgroup_procs


def _write(b, text):
    with open(os.path.join(b.path, "config.json"), "w") as f:
        f.write(text)


def m_malformed(b):
    _write(b, '{"ociVersion": "1.0.2", "process": {')


def m_not_json_object(b):
    _write(b, '[1, 2, 3]')


def m_no_config(b):
    os.remove(os.path.join(b.path, "config.json"))


def m_no_rootfs(b):
    shutil.rmtree(b.rootfs)
    b.save()


def m_bad_fs(b):
    b.add_mount("/mnt", "nosuchfs", "none", [])
    b.save()


def m_bind_missing_source(b):
    b.add_mount("/mnt", "bind", "/nonexistent-husk-src", ["bind"])
    b.save()


def m_unknown_ns(b):
    b.linux["namespaces"].append({"type": "foo"})
    b.save()


def m_duplicate_ns(b):
    b.linux["namespaces"].append({"type": "pid"})
    b.save()


def m_empty_args(b):
    b.process["args"] = []
    b.save()


def m_relative_cwd(b):
    b.process["cwd"] = "tmp"
    b.save()


def m_no_executable(b):
    b.process["args"] = ["nosuchcmd"]
    b.save()


def m_bad_rlimit(b):
    b.process["rlimits"] = [{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]
    b.save()


def m_bad_device_type(b):
    b.linux["devices"] = [{"path": "/dev/x", "type": "x", "major": 1, "minor": 3}]
    b.save()


def m_no_process(b):
    del b.config["process"]
    b.save()


def m_no_root(b):
    del b.config["root"]
    b.save()


def m_wrong_type(b):
    b.process["args"] = "true"
    b.save()


def m_userns_without_mappings(b):
    b.add_namespace("user")
    b.save()


def m_bad_ns_path(b):
    b.add_namespace("ipc", "/nonexistent-husk-ns")
    b.save()


def m_bad_seccomp_arch(b):
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                          "architectures": ["SCMP_ARCH_NOPE"], "syscalls": []}
    b.save()


# name, mutation, regexes every runtime's stderr must match (case-insensitive),
# regexes husk's stderr must also match
CASES = [
    ("malformed-json", m_malformed, [r"eof|json|parse|syntax"], [r"config\.json"]),
    ("not-an-object", m_not_json_object, [r"json|unmarshal|object"], [r"config\.json"]),
    ("no-config", m_no_config, [r"config\.json"], [r"config\.json"]),
    ("no-rootfs", m_no_rootfs, [r"rootfs"], [r"rootfs"]),
    ("bad-mount-type", m_bad_fs, [r"/mnt"], [r"nosuchfs"]),
    ("bind-missing-source", m_bind_missing_source, [r"nonexistent-husk-src"], []),
    ("unknown-namespace", m_unknown_ns, [r"foo"], [r"namespace"]),
    ("duplicate-namespace", m_duplicate_ns, [r"pid"], [r"duplicate"]),
    ("empty-args", m_empty_args, [r"args"], []),
    ("relative-cwd", m_relative_cwd, [r"cwd"], [r"absolute"]),
    ("no-executable", m_no_executable, [r"nosuchcmd"], []),
    ("bad-rlimit", m_bad_rlimit, [r"RLIMIT_NOPE"], []),
    ("bad-device-type", m_bad_device_type, [r"device"], []),
    ("no-process", m_no_process, [r"process"], []),
    ("no-root", m_no_root, [r"root"], []),
    ("wrong-json-type", m_wrong_type, [r"args"], []),
    ("userns-without-mappings", m_userns_without_mappings, [r"mapping"], []),
    ("bad-namespace-path", m_bad_ns_path, [r"nonexistent-husk-ns"], []),
    ("bad-seccomp-arch", m_bad_seccomp_arch, [r"SCMP_ARCH_NOPE|arch"], [r"SCMP_ARCH_NOPE"]),
]


def _check(runtime, leaks, b, verb):
    before = leaks.snapshot()
    if verb == "run":
        r = runtime.run(b, save=False)
    else:
        r = runtime.create(b, save=False)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert r.stderr.strip(), "no error message"
    assert not os.path.exists(os.path.join(runtime.root, b.id))
    leaks.assert_clean(before, what="%s of a bad bundle" % verb)
    r2 = runtime.state(b.id)
    assert r2.returncode != 0 and "does not exist" in r2.stderr
    return r


@pytest.mark.parametrize("name,mutate,patterns,husk_patterns", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("verb", ["create", "run"])
def test_bad_config(bundle, runtime, leaks, verb, name, mutate, patterns, husk_patterns):
    b = bundle(["true"])
    mutate(b)
    r = _check(runtime, leaks, b, verb)
    for p in patterns:
        assert re.search(p, r.stderr, re.I), (p, r.stderr)


@pytest.mark.husk_only  # husk names the file/field; runc 1.1's texts are vaguer in places
@pytest.mark.parametrize("name,mutate,patterns,husk_patterns", CASES, ids=[c[0] for c in CASES])
def test_bad_config_husk_message(bundle, runtime, leaks, name, mutate, patterns, husk_patterns):
    b = bundle(["true"])
    mutate(b)
    r = _check(runtime, leaks, b, "create")
    last = r.stderr.strip().splitlines()[-1]
    assert re.match(r"^husk: \S.*: \S", last), r.stderr
    for p in husk_patterns:
        assert re.search(p, r.stderr, re.I), (p, r.stderr)


def test_missing_bundle_dir(runtime, leaks, new_id, tmpdir_s):
    before = leaks.snapshot()
    cid = new_id()
    runtime.track(cid)
    r = runtime.cmd("create", "--bundle", os.path.join(tmpdir_s, "no-bundle-here"), cid)
    assert r.returncode != 0
    assert "no-bundle-here" in r.stderr
    leaks.assert_clean(before)


@pytest.mark.parametrize("bad_id", ["bad/id", "..", "a b", "", "x" * 300])
def test_invalid_container_id(bundle, runtime, leaks, bad_id):
    b = bundle(["true"])
    before = leaks.snapshot()
    r = runtime.cmd("create", "--bundle", b.path, bad_id)
    assert r.returncode != 0
    assert r.stderr.strip()
    leaks.assert_clean(before)
    assert not os.path.exists(os.path.join(b.rootfs, "..", "..", "bad"))


def test_duplicate_id(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    assert runtime.create(b).returncode == 0
    pid = runtime.state_json(b.id)["pid"]
    other = bundle(["true"])
    other.use_id(b.id)
    other.save()
    before = leaks.snapshot()
    r = runtime.cmd("create", "--bundle", other.path, b.id)
    assert r.returncode != 0
    assert "exist" in r.stderr
    leaks.assert_clean(before)
    st = runtime.state_json(b.id)
    assert st["status"] == "created" and st["pid"] == pid
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    # the failed create did not touch the existing container's cgroup
    assert pid in cgroup_procs(b.cgroup)


def test_start_running(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    before = leaks.snapshot()
    r = runtime.start(b.id)
    assert r.returncode != 0
    assert re.search(r"running|not in created state|cannot start", r.stderr), r.stderr
    leaks.assert_clean(before)
    assert runtime.state_json(b.id)["status"] == "running"


def test_delete_running_without_force(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    before = leaks.snapshot()
    r = runtime.delete(b.id)
    assert r.returncode != 0
    assert "running" in r.stderr
    leaks.assert_clean(before)
    assert runtime.state_json(b.id)["status"] == "running"


def test_kill_bad_signal(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    before = leaks.snapshot()
    for sig in ("SIGNOPE", "NOPE", "999", "-1"):
        r = runtime.kill(b.id, sig)
        assert r.returncode != 0, sig
        assert r.stderr.strip(), sig
    leaks.assert_clean(before)
    assert runtime.state_json(b.id)["status"] == "running"


def test_exec_missing_binary(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    before = leaks.snapshot()
    r = runtime.exec(b.id, "nosuchcmd")
    assert r.returncode != 0
    assert "nosuchcmd" in r.stderr
    leaks.assert_clean(before)
    assert runtime.state_json(b.id)["status"] == "running"


def test_failed_start_leaves_created_container_deletable(bundle, runtime, leaks):
    b = bundle(["nosuchcmd"])
    before = leaks.snapshot()
    r = runtime.create(b)
    if r.returncode == 0:
        # some runtimes resolve args[0] only at start
        runtime.start(b.id)
        runtime.delete(b.id, force=True)
    else:
        assert "nosuchcmd" in r.stderr
    leaks.assert_clean(before)


def test_intel_rdt_refused_clearly(bundle, runtime, leaks):
    # runc refuses intelRdt where Intel RDT is unavailable; husk has no RDT
    # support at all, and must not drop the setting silently either
    b = bundle(["true"])
    b.linux["intelRdt"] = {"closID": "guaranteed_group"}
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "linux.intelRdt" in r.stderr
    leaks.assert_clean(before)


def test_corrupt_state_file_does_not_abort_list(runtime):
    # found by tests/fuzz (fuzz_state): non-object annotations in a state
    # file used to abort husk in a json-c assertion, taking `list` down
    d = os.path.join(runtime.root, "broken")
    os.makedirs(d)
    with open(os.path.join(d, "state.json"), "w") as f:
        f.write('{"id":"broken","pid":0,"bundle":"/tmp","annotations":["x"],"cgroup":"y"}')
    try:
        r = runtime.cmd("list", "--format", "json")
        assert r.returncode == 0, r.stderr
        r = runtime.cmd("state", "broken")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["status"] == "stopped"
    finally:
        shutil.rmtree(d)

"""process.*: args, env, cwd, user, umask, capabilities, rlimits,
noNewPrivileges, oomScoreAdj — each checked from inside the container."""
import os

import pytest

from helpers.conformance import CAP_BITS, cap_mask as mask  # noqa: F401
from helpers.util import status_field



def run_ok(runtime, b):
    r = runtime.run(b)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def proc_status(runtime, b):
    b.set_args("cat", "/proc/self/status")
    return run_ok(runtime, b)


# ------------------------------------------------------------ args / env ---
def test_args_are_not_shell_interpreted(bundle, runtime):
    b = bundle(["echo", "a  b", "$HOME", "*", "'q'"])
    assert run_ok(runtime, b) == "a  b $HOME * 'q'\n"


def test_args_absolute_path(bundle, runtime):
    b = bundle(["/bin/busybox", "echo", "via-abs-path"])
    assert run_ok(runtime, b) == "via-abs-path\n"


def test_args_found_through_config_path(bundle, runtime):
    # /bin is not in the config's PATH: "echo" must be looked up in /opt/bin
    b = bundle(["echo", "found"])
    os.makedirs(os.path.join(b.rootfs, "opt/bin"))
    os.symlink("/bin/busybox", os.path.join(b.rootfs, "opt/bin/echo"))
    b.process["env"] = ["PATH=/opt/bin"]
    assert run_ok(runtime, b) == "found\n"


def test_env(bundle, runtime):
    b = bundle(["env"])
    b.process["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "WITH_EQ=a=b"]
    env = run_ok(runtime, b).splitlines()
    for kv in b.process["env"]:
        assert kv in env
    assert not any(l.startswith("HUSK_HOST_ONLY") for l in env)


def test_host_environment_does_not_leak(bundle, runtime):
    b = bundle(["env"])
    b.save()
    env = dict(os.environ, HUSK_HOST_ONLY="leaked")
    r = runtime.cmd("run", "--bundle", b.path, b.id, env=env)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    assert "HUSK_HOST_ONLY" not in r.stdout


def test_cwd(bundle, runtime):
    b = bundle(["pwd"])
    b.process["cwd"] = "/etc"
    assert run_ok(runtime, b) == "/etc\n"


def test_cwd_owned_by_user(bundle, runtime):
    b = bundle(["sh", "-c", "pwd; touch file-here && echo touched"])
    b.process["cwd"] = "/home/user"
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.config["root"]["readonly"] = False
    assert run_ok(runtime, b).split() == ["/home/user", "touched"]
    st = os.stat(os.path.join(b.rootfs, "home/user/file-here"))
    assert (st.st_uid, st.st_gid) == (1000, 1000)


# ------------------------------------------------------------------ user ---
def test_user_uid_gid_additional_gids(bundle, runtime):
    b = bundle(["sh", "-c", "id -u; id -g; grep -E '^(Uid|Gid|Groups):' /proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}
    out = run_ok(runtime, b).splitlines()
    assert out[0] == "1000" and out[1] == "1000"
    assert status_field("\n".join(out), "Uid").split() == ["1000"] * 4
    assert status_field("\n".join(out), "Gid").split() == ["1000"] * 4
    assert sorted(status_field("\n".join(out), "Groups").split(), key=int) == ["10", "20"]


def test_user_without_additional_gids_has_no_groups(bundle, runtime):
    b = bundle(["grep", "^Groups:", "/proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    assert run_ok(runtime, b).split(":", 1)[1].strip() == ""


def test_user_uid_not_in_passwd(bundle, runtime):
    b = bundle(["sh", "-c", "id -u; id -g"])
    b.process["user"] = {"uid": 4242, "gid": 4343}
    assert run_ok(runtime, b).split() == ["4242", "4343"]


def test_root_user_default(bundle, runtime):
    b = bundle(["id"])
    assert run_ok(runtime, b).startswith("uid=0(root) gid=0(root)")


# ----------------------------------------------------------------- umask ---
def test_umask(bundle, runtime):
    b = bundle(["sh", "-c", "umask; touch /dev/shm/f; mkdir /dev/shm/d; "
                "stat -c %a /dev/shm/f /dev/shm/d"])
    b.process["user"]["umask"] = 0o027
    assert run_ok(runtime, b).split() == ["0027", "640", "750"]


def test_umask_default_0022(bundle, runtime):
    b = bundle(["sh", "-c", "umask"])
    assert run_ok(runtime, b).strip() == "0022"


# ---------------------------------------------------------- capabilities ---
def caps_of(status):
    return {k: int(status_field(status, k), 16)
            for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_capabilities_root(bundle, runtime):
    full = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"]
    amb = ["CAP_NET_BIND_SERVICE"]
    b = bundle()
    b.process["capabilities"] = {"bounding": full, "effective": full, "permitted": full,
                                 "inheritable": amb, "ambient": amb}
    caps = caps_of(proc_status(runtime, b))
    assert caps["CapBnd"] == mask(full)
    assert caps["CapPrm"] == mask(full)
    assert caps["CapEff"] == mask(full)
    assert caps["CapInh"] == mask(amb)
    assert caps["CapAmb"] == mask(amb)


def test_capabilities_non_root_get_ambient(bundle, runtime):
    bnd = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]
    keep = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    b = bundle()
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {"bounding": bnd, "effective": keep, "permitted": keep,
                                 "inheritable": keep, "ambient": keep}
    caps = caps_of(proc_status(runtime, b))
    assert caps == {"CapBnd": mask(bnd), "CapPrm": mask(keep), "CapEff": mask(keep),
                    "CapInh": mask(keep), "CapAmb": mask(keep)}


def test_capabilities_non_root_without_ambient_lose_all(bundle, runtime):
    bnd = ["CAP_CHOWN", "CAP_KILL"]
    b = bundle()
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {"bounding": bnd, "effective": bnd, "permitted": bnd}
    caps = caps_of(proc_status(runtime, b))
    assert caps == {"CapBnd": mask(bnd), "CapPrm": 0, "CapEff": 0, "CapInh": 0, "CapAmb": 0}


def test_capabilities_empty(bundle, runtime):
    b = bundle()
    b.process["capabilities"] = {}
    caps = caps_of(proc_status(runtime, b))
    assert caps == {"CapBnd": 0, "CapPrm": 0, "CapEff": 0, "CapInh": 0, "CapAmb": 0}


def test_capability_effect_chown(bundle, runtime):
    script = "touch /dev/shm/f && chown 1000 /dev/shm/f && echo chown-ok"
    with_cap = bundle(["sh", "-c", script])
    for k in ("bounding", "effective", "permitted"):
        with_cap.process["capabilities"][k].append("CAP_CHOWN")
    assert run_ok(runtime, with_cap).strip() == "chown-ok"
    without = bundle(["sh", "-c", script])
    r = runtime.run(without)
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr


def test_unknown_capability_is_warned_and_ignored(bundle, runtime):
    # runtime-spec 1.1: unknown capabilities are logged as a warning and ignored
    b = bundle(["cat", "/proc/self/status"])
    for k in ("bounding", "effective", "permitted"):
        b.process["capabilities"][k].append("CAP_FROM_THE_FUTURE")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert "CAP_FROM_THE_FUTURE" in r.stderr
    caps = caps_of(r.stdout)
    assert caps["CapBnd"] == mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])


# ---------------------------------------------------------------- rlimits ---
def limits_line(text, name):
    for line in text.splitlines():
        if line.startswith(name):
            return line[len(name):].split()[:2]
    raise KeyError(name)


def test_rlimits(bundle, runtime):
    b = bundle(["sh", "-c", "ulimit -n; cat /proc/self/limits"])
    b.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
    ]
    out = run_ok(runtime, b)
    assert out.splitlines()[0] == "512"
    assert limits_line(out, "Max open files") == ["512", "1000"]
    assert limits_line(out, "Max core file size") == ["0", "0"]
    assert limits_line(out, "Max processes") == ["300", "400"]
    assert limits_line(out, "Max stack size") == ["4194304", "8388608"]


def test_rlimit_above_hard_limit_fails(bundle, runtime, leaks):
    import resource
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("runner has no hard NOFILE limit")
    with open("/proc/self/status") as f:
        if int(status_field(f.read(), "CapEff"), 16) & (1 << CAP_BITS["CAP_SYS_RESOURCE"]):
            pytest.skip("runner has CAP_SYS_RESOURCE: raising the limit would work")
    b = bundle(["true"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard * 4, "hard": hard * 4}]
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "rlimit" in r.stderr.lower() or "RLIMIT_NOFILE" in r.stderr
    leaks.assert_clean(before)


# -------------------------------------------------------------- misc bits ---
def test_no_new_privileges_true(bundle, runtime):
    b = bundle()
    b.process["noNewPrivileges"] = True
    assert status_field(proc_status(runtime, b), "NoNewPrivs") == "1"


def test_no_new_privileges_false(bundle, runtime):
    b = bundle()
    b.process["noNewPrivileges"] = False
    assert status_field(proc_status(runtime, b), "NoNewPrivs") == "0"


@pytest.mark.parametrize("adj", [500, 1000, 0])
def test_oom_score_adj(bundle, runtime, adj):
    # only values >= the runner's own work: lowering needs CAP_SYS_RESOURCE
    with open("/proc/self/oom_score_adj") as f:
        mine = int(f.read())
    if adj < mine:
        pytest.skip("cannot lower oom_score_adj below the runner's %d" % mine)
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.process["oomScoreAdj"] = adj
    assert run_ok(runtime, b).strip() == str(adj)


def test_stdio_is_the_runtimes(bundle, runtime):
    b = bundle(["sh", "-c", "echo to-out; echo to-err >&2; exit 3"])
    r = runtime.run(b)
    assert r.returncode == 3
    assert r.stdout == "to-out\n"
    assert "to-err\n" in r.stderr


def test_stdin_is_passed(bundle, runtime):
    b = bundle(["cat"])
    b.save()
    r = runtime.cmd("run", "--bundle", b.path, b.id, input="piped input\n")
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "piped input\n"

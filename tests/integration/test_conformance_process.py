"""Conformance: process.* fields judged by their effect inside the container
(args, env, cwd, stdio, capabilities set by set, every rlimit, scheduler,
ioPriority, personality).  Complements test_process.py."""
import os

import pytest

from helpers.conformance import (add_caps, caps_of, limits, proc_stat_fields,
                                 run_ok, writable_root)

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# ----------------------------------------------------------------- args ---
def test_args_zero_is_passed_as_argv0(bundle, runtime):
    # args[0] is argv[0] (not the resolved path)
    b = bundle(["cat", "/proc/self/cmdline"])
    assert run_ok(runtime, b) == "cat\0/proc/self/cmdline\0"


def test_args_empty_newline_unicode_dash_preserved(bundle, runtime):
    b = bundle(["sh", "-c", 'for a in "$@"; do printf "<%s>" "$a"; done', "argv0",
                "", "two\nlines", "  spaced  ", "\u00e9t\u00e9", "-n", "\"dq\" 'sq' \\bs"])
    assert run_ok(runtime, b) == ("<><two\nlines><  spaced  ><\u00e9t\u00e9><-n>"
                                  "<\"dq\" 'sq' \\bs>")


# ------------------------------------------------------------------ env ---
def _env_lines(text):
    return [l for l in text.split("\n") if l]


def test_env_replaces_runtime_environment(bundle, runtime):
    b = bundle(["env"])
    b.process["env"] = ["PATH=/bin", "FOO=from-config", "HOME=/cfg-home"]
    b.save()
    host_env = dict(os.environ, FOO="from-runtime", HUSK_RT_ONLY="1", LANG="C.UTF-8")
    r = runtime.cmd("run", "--bundle", b.path, b.id, env=host_env)
    runtime.track(b.id)
    assert r.returncode == 0, r.stderr
    # exactly the configured environment: nothing merged in from the runtime's
    assert sorted(_env_lines(r.stdout)) == sorted(b.process["env"])


def test_env_home_set_from_passwd_when_absent(bundle, runtime):
    # runc sets HOME from the user's /etc/passwd entry when env has none
    b = bundle(["env"])
    b.process["env"] = ["PATH=/bin", "A=1"]
    b.process["user"] = {"uid": 1000, "gid": 1000}
    assert sorted(_env_lines(run_ok(runtime, b))) == ["A=1", "HOME=/home/user", "PATH=/bin"]


def test_env_empty_list(bundle, runtime):
    b = bundle(["/bin/env"])
    b.process["env"] = []
    env = _env_lines(run_ok(runtime, b))
    assert [e for e in env if not e.startswith("HOME=")] == []


# ------------------------------------------------------------------ cwd ---
def test_cwd_missing_is_created(bundle, runtime):
    b = writable_root(bundle(["pwd"]))
    b.process["cwd"] = "/does/not/exist/yet"
    assert run_ok(runtime, b) == "/does/not/exist/yet\n"
    assert os.path.isdir(os.path.join(b.rootfs, "does/not/exist/yet"))


def test_cwd_missing_is_created_with_readonly_root(bundle, runtime):
    b = bundle(["pwd"])
    assert b.config["root"]["readonly"] is True
    b.process["cwd"] = "/made-by-runtime"
    assert run_ok(runtime, b) == "/made-by-runtime\n"


def test_cwd_through_symlink_resolves_in_rootfs(bundle, runtime):
    b = bundle(["pwd", "-P"])
    os.makedirs(os.path.join(b.rootfs, "real/dir"))
    os.symlink("/real/dir", os.path.join(b.rootfs, "linkdir"))
    b.process["cwd"] = "/linkdir"
    assert run_ok(runtime, b) == "/real/dir\n"


# ---------------------------------------------------------------- stdio ---
def _ids(path):
    st = os.stat(path)
    return "%d:%d" % (st.st_dev, st.st_ino)


def test_detached_stdio_is_inherited_not_proxied(bundle, runtime):
    # terminal=false + create: the container's fds 0-2 ARE the runtime's
    # (runc re-opens a host /dev/null stdin as the container's /dev/null, so
    # fd 0 is only checked to be a null device)
    b = bundle(["sh", "-c", "stat -L -c %t:%T /proc/self/fd/0; "
                "stat -L -c %d:%i /proc/self/fd/1 /proc/self/fd/2"])
    assert runtime.create(b).returncode == 0, runtime.output(b.id)
    assert runtime.start(b.id).returncode == 0
    runtime.wait_status(b.id, "stopped")
    out_path, err_path = runtime._paths(b.id)
    got = runtime.output(b.id)[0].split()
    assert got == ["1:3", _ids(out_path), _ids(err_path)]


def test_foreground_stdout_stderr_are_separate(bundle, runtime):
    b = bundle(["sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done"])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "out1\nout2\nout3\n"
    assert [l for l in r.stderr.splitlines() if l.startswith("err")] == ["err1", "err2",
                                                                       "err3"]


def test_large_output_is_not_truncated(bundle, runtime):
    b = bundle(["sh", "-c", "seq 1 100000"])
    out = run_ok(runtime, b)
    assert out == "".join("%d\n" % i for i in range(1, 100001))


# --------------------------------------------------------- capabilities ---
ROOT3 = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]


def _caps(runtime, b):
    b.set_args("cat", "/proc/self/status")
    return caps_of(run_ok(runtime, b))


def test_caps_bounding_only_root_with_nnp(bundle, runtime):
    # root + no_new_privs: execve grants no more than the old permitted (empty)
    b = bundle()
    b.process["capabilities"] = {"bounding": ROOT3}
    b.process["noNewPrivileges"] = True
    c = _caps(runtime, b)
    assert c == {"CapBnd": sorted(ROOT3), "CapPrm": [], "CapEff": [], "CapInh": [],
                 "CapAmb": []}


def test_caps_bounding_only_root_without_nnp(bundle, runtime):
    # root without no_new_privs: the kernel fills permitted from the bounding set
    b = bundle()
    b.process["capabilities"] = {"bounding": ROOT3}
    b.process["noNewPrivileges"] = False
    c = _caps(runtime, b)
    assert c == {"CapBnd": sorted(ROOT3), "CapPrm": sorted(ROOT3), "CapEff": sorted(ROOT3),
                 "CapInh": [], "CapAmb": []}


def test_caps_permitted_subset_of_bounding(bundle, runtime):
    b = bundle()
    b.process["capabilities"] = {"bounding": ROOT3, "permitted": ["CAP_CHOWN", "CAP_KILL"],
                                 "effective": ["CAP_CHOWN"]}
    b.process["noNewPrivileges"] = True
    c = _caps(runtime, b)
    assert c["CapBnd"] == sorted(ROOT3)
    assert c["CapPrm"] == ["CAP_CHOWN", "CAP_KILL"]
    # for uid 0 execve raises effective to the new permitted set
    assert c["CapEff"] == ["CAP_CHOWN", "CAP_KILL"]


def test_caps_inheritable_only(bundle, runtime):
    b = bundle()
    b.process["capabilities"] = {"bounding": ROOT3, "inheritable": ["CAP_KILL"]}
    b.process["noNewPrivileges"] = True
    c = _caps(runtime, b)
    assert c["CapInh"] == ["CAP_KILL"]
    assert c["CapBnd"] == sorted(ROOT3)
    assert c["CapAmb"] == []


def test_caps_non_root_ambient_subset(bundle, runtime):
    b = bundle()
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {
        "bounding": ROOT3, "permitted": ["CAP_CHOWN", "CAP_KILL"],
        "effective": ["CAP_CHOWN", "CAP_KILL"], "inheritable": ["CAP_CHOWN", "CAP_KILL"],
        "ambient": ["CAP_CHOWN"]}
    c = _caps(runtime, b)
    assert c == {"CapBnd": sorted(ROOT3), "CapInh": ["CAP_CHOWN", "CAP_KILL"],
                 "CapAmb": ["CAP_CHOWN"], "CapPrm": ["CAP_CHOWN"], "CapEff": ["CAP_CHOWN"]}


def test_caps_non_root_ambient_effect(bundle, runtime):
    # uid 1000 may give its file away only with CAP_CHOWN (here via ambient)
    script = "touch /tmp/f && chown 0:0 /tmp/f && stat -c %u:%g /tmp/f"
    with_amb = writable_root(bundle(["sh", "-c", script]))
    with_amb.process["user"] = {"uid": 1000, "gid": 1000}
    add_caps(with_amb, "CAP_CHOWN", sets=("bounding", "effective", "permitted",
                                          "inheritable", "ambient"))
    assert run_ok(runtime, with_amb) == "0:0\n"

    without = writable_root(bundle(["sh", "-c", script]))
    without.process["user"] = {"uid": 1000, "gid": 1000}
    add_caps(without, "CAP_CHOWN", sets=("bounding", "effective", "permitted"))
    without.process["capabilities"]["ambient"] = []
    r = runtime.run(without)
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr


# -------------------------------------------------------------- rlimits ---
RLIMIT_NUMBERS = ["RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
                  "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK",
                  "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
                  "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"]
RLIMITS = [
    # type, /proc/self/limits name, soft, hard
    ("RLIMIT_CPU", "Max cpu time", 3000, 4000),
    ("RLIMIT_FSIZE", "Max file size", 1048576, 2097152),
    ("RLIMIT_DATA", "Max data size", 1 << 30, 1 << 31),
    ("RLIMIT_RSS", "Max resident set", 1 << 28, 1 << 29),
    ("RLIMIT_MEMLOCK", "Max locked memory", 65536, 131072),
    ("RLIMIT_AS", "Max address space", 1 << 32, 1 << 33),
    ("RLIMIT_LOCKS", "Max file locks", 50, 100),
    ("RLIMIT_SIGPENDING", "Max pending signals", 100, 200),
    ("RLIMIT_MSGQUEUE", "Max msgqueue size", 4096, 8192),
    ("RLIMIT_NICE", "Max nice priority", 5, 10),
    ("RLIMIT_RTPRIO", "Max realtime priority", 1, 2),
    ("RLIMIT_RTTIME", "Max realtime timeout", 100000, 200000),
    ("RLIMIT_NPROC", "Max processes", 111, 222),
    ("RLIMIT_CORE", "Max core file size", 4096, 8192),
    ("RLIMIT_STACK", "Max stack size", 4194304, 6291456),
    ("RLIMIT_NOFILE", "Max open files", 77, 88),
]


@pytest.mark.parametrize("rtype,name,soft,hard", RLIMITS, ids=[r[0] for r in RLIMITS])
def test_rlimit_each_type(bundle, runtime, rtype, name, soft, hard):
    import resource
    _s, runner_hard = resource.getrlimit(RLIMIT_NUMBERS.index(rtype))
    if runner_hard != resource.RLIM_INFINITY and hard > runner_hard:
        pytest.skip("runner's hard %s is %d: cannot be raised" % (rtype, runner_hard))
    b = bundle(["cat", "/proc/self/limits"])
    b.process["rlimits"] = [{"type": rtype, "soft": soft, "hard": hard}]
    got = limits(run_ok(runtime, b))
    assert got[name] == (str(soft), str(hard))


def test_rlimit_unlisted_types_keep_runtime_values(bundle, runtime):
    # only the listed rlimits change; the rest are inherited from the runtime
    with open("/proc/self/limits") as f:
        host = limits(f.read())
    b = bundle(["cat", "/proc/self/limits"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 99, "hard": 99}]
    got = limits(run_ok(runtime, b))
    assert got["Max open files"] == ("99", "99")
    for name in ("Max file size", "Max locked memory", "Max core file size",
                 "Max address space"):
        assert got[name] == host[name], name


def test_rlimit_fsize_effect(bundle, runtime):
    b = bundle(["sh", "-c", "trap '' XFSZ; dd if=/dev/zero of=/dev/shm/big bs=1024 count=64;"
                " echo rc=$?; stat -c %s /dev/shm/big"])
    b.process["rlimits"] = [{"type": "RLIMIT_FSIZE", "soft": 16384, "hard": 16384}]
    out = run_ok(runtime, b).split()
    assert out == ["rc=1", "16384"]


def test_rlimit_nproc_effect_for_user(bundle, runtime):
    # a uid of its own: the count is per real uid on the whole host
    b = bundle(["sh", "-c", "for i in 1 2 3 4 5 6; do sleep 5 & done; echo forked-all"])
    b.process["user"] = {"uid": 43210, "gid": 43210}
    b.process["rlimits"] = [{"type": "RLIMIT_NPROC", "soft": 3, "hard": 3}]
    r = runtime.run(b)
    assert "forked-all" not in r.stdout
    assert "fork" in r.stderr.lower() or "resource temporarily unavailable" in r.stderr.lower()


def test_rlimit_nofile_effect(bundle, runtime):
    # fds 0-2 are open: 3..7 fit under a limit of 8, fd 8 does not
    b = bundle(["sh", "-c", "exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null "
                "7</dev/null && echo five-ok; exec 8</dev/null 9</dev/null; echo rc=$?"])
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 8, "hard": 8}]
    r = runtime.run(b)
    assert "five-ok" in r.stdout
    assert "rc=0" not in r.stdout


# ------------------------------------------------------------ scheduler ---
def _stat(runtime, b):
    b.set_args("cat", "/proc/self/stat")
    return proc_stat_fields(run_ok(runtime, b))


@pytest.mark.husk_only  # runc 1.1 ignores process.scheduler (runtime-spec 1.1, runc 1.2)
@pytest.mark.parametrize("policy,num", [("SCHED_BATCH", "3"), ("SCHED_IDLE", "5")])
def test_scheduler_policy(bundle, runtime, policy, num):
    b = bundle()
    b.process["scheduler"] = {"policy": policy}
    st = _stat(runtime, b)
    assert st[41] == num        # policy


@pytest.mark.husk_only  # runc 1.1 ignores process.scheduler
def test_scheduler_other_with_nice(bundle, runtime):
    b = bundle()
    b.process["scheduler"] = {"policy": "SCHED_OTHER", "nice": 7}
    st = _stat(runtime, b)
    assert st[41] == "0"
    assert st[19] == "7"        # nice


@pytest.mark.husk_only  # runc 1.1 ignores process.scheduler
def test_scheduler_batch_with_nice(bundle, runtime):
    b = bundle()
    b.process["scheduler"] = {"policy": "SCHED_BATCH", "nice": 12}
    st = _stat(runtime, b)
    assert (st[41], st[19]) == ("3", "12")


def test_scheduler_absent_keeps_runtime_policy(bundle, runtime):
    with open("/proc/self/stat") as f:
        mine = proc_stat_fields(f.read())
    b = bundle()
    st = _stat(runtime, b)
    assert (st[41], st[19]) == (mine[41], mine[19])


# ----------------------------------------------------------- ioPriority ---
@pytest.mark.husk_only  # runc 1.1 ignores process.ioPriority (runtime-spec 1.1, runc 1.2)
@pytest.mark.parametrize("cls,prio,want", [
    ("IOPRIO_CLASS_BE", 6, "best-effort: prio 6"),
    ("IOPRIO_CLASS_IDLE", 0, "idle"),
])
def test_io_priority(bundle, runtime, cls, prio, want):
    b = bundle(["ionice", "-p", "1"])
    os.symlink("busybox", os.path.join(b.rootfs, "bin", "ionice"))
    b.process["ioPriority"] = {"class": cls, "priority": prio}
    assert run_ok(runtime, b).strip() == want


def test_io_priority_absent_keeps_runtime_priority(bundle, runtime):
    import subprocess
    mine = subprocess.run(["/bin/busybox", "ionice", "-p", str(os.getpid())],
                          capture_output=True, text=True, timeout=10).stdout.strip()
    b = bundle(["ionice", "-p", "1"])
    os.symlink("busybox", os.path.join(b.rootfs, "bin", "ionice"))
    assert run_ok(runtime, b).strip() == mine


# ---------------------------------------------------------- personality ---
@pytest.mark.husk_only  # runc 1.1 ignores linux.personality (runc 1.2 implements it)
def test_personality_linux32(bundle, runtime):
    b = bundle(["uname", "-m"])
    b.linux["personality"] = {"domain": "LINUX32"}
    assert run_ok(runtime, b).strip() == "i686"


def test_personality_linux(bundle, runtime):
    b = bundle(["uname", "-m"])
    b.linux["personality"] = {"domain": "LINUX"}
    assert run_ok(runtime, b).strip() == os.uname().machine


# ------------------------------------------------------------------ misc ---
def test_oom_score_adj_absent_inherits_runtime(bundle, runtime):
    with open("/proc/self/oom_score_adj") as f:
        mine = f.read().strip()
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.process.pop("oomScoreAdj", None)
    assert run_ok(runtime, b).strip() == mine


def test_additional_gids_give_group_access(bundle, runtime, tmpdir_s):
    # a file readable only by group 20 is readable through additionalGids
    b = bundle(["cat", "/secret"])
    with open(os.path.join(b.rootfs, "secret"), "w") as f:
        f.write("group-ok\n")
    os.chown(os.path.join(b.rootfs, "secret"), 0, 20)
    os.chmod(os.path.join(b.rootfs, "secret"), 0o040)
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [20]}
    assert run_ok(runtime, b) == "group-ok\n"
    b2 = bundle(["cat", "/secret"])
    with open(os.path.join(b2.rootfs, "secret"), "w") as f:
        f.write("group-ok\n")
    os.chown(os.path.join(b2.rootfs, "secret"), 0, 20)
    os.chmod(os.path.join(b2.rootfs, "secret"), 0o040)
    b2.process["user"] = {"uid": 1000, "gid": 1000}
    r = runtime.run(b2)
    assert r.returncode != 0 and "Permission denied" in r.stderr


def test_umask_applies_to_user_process_files(bundle, runtime):
    b = writable_root(bundle(["sh", "-c", "echo x > /home/user/f; mkdir /home/user/d"]))
    b.process["user"] = {"uid": 1000, "gid": 1000, "umask": 0o077}
    run_ok(runtime, b)
    st_f = os.stat(os.path.join(b.rootfs, "home/user/f"))
    st_d = os.stat(os.path.join(b.rootfs, "home/user/d"))
    assert (st_f.st_mode & 0o7777, st_d.st_mode & 0o7777) == (0o600, 0o700)
    assert (st_f.st_uid, st_f.st_gid) == (1000, 1000)

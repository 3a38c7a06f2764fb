"""Conformance: linux.seccomp actions, argument operators, flags, exec'd
processes and the notify listener, judged by what the container's syscalls
return.  Complements test_seccomp.py."""
import os

import pytest

from helpers.conformance import (SECCOMP_ALLOWED, SeccompListener, run_ok,
                                 seccomp_profile, status_field)

SIGSYS_EXIT = 128 + 31
ENOSYS = 38


def deny_mkdir(action, **extra):
    r = {"names": ["mkdir", "mkdirat"], "action": action}
    r.update(extra)
    return r


# ------------------------------------------------------------- actions ----
@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_killing_actions_exit_by_sigsys(bundle, runtime, action):
    b = bundle(["mkdir", "/dev/shm/d"])
    b.process["rlimits"].append({"type": "RLIMIT_CORE", "soft": 0, "hard": 0})
    b.linux["seccomp"] = seccomp_profile([deny_mkdir(action)])
    r = runtime.run(b)
    assert r.returncode == SIGSYS_EXIT, (r.returncode, r.stderr)


def test_trap_can_be_caught_as_sigsys(bundle, runtime):
    # SCMP_ACT_TRAP sends SIGSYS: a shell that traps it survives and goes on
    b = bundle(["sh", "-c", "trap 'echo caught-sys' SYS; mkdir /dev/shm/d; echo after"])
    b.linux["seccomp"] = seccomp_profile([deny_mkdir("SCMP_ACT_TRAP")])
    r = runtime.run(b)
    # busybox mkdir is a separate process: it dies of SIGSYS, the shell goes on
    assert r.stdout.strip().endswith("after"), (r.returncode, r.stdout, r.stderr)


def test_default_action_kill_with_allow_list(bundle, runtime):
    b = bundle(["sh", "-c", "echo before; mkdir /dev/shm/d; echo rc=$?"])
    b.linux["seccomp"] = seccomp_profile([{"names": SECCOMP_ALLOWED,
                                           "action": "SCMP_ACT_ALLOW"}],
                                         default="SCMP_ACT_KILL_PROCESS")
    r = runtime.run(b)
    assert r.returncode == 0, (r.returncode, r.stderr)
    # the shell survives; mkdir (its child) is killed: 128+SIGSYS
    assert r.stdout.split() == ["before", "rc=%d" % SIGSYS_EXIT]


def test_errno_ret_per_rule(bundle, runtime):
    b = bundle(["sh", "-c", "mkdir /dev/shm/d; rmdir /dev/shm; echo done"])
    b.linux["seccomp"] = seccomp_profile([
        deny_mkdir("SCMP_ACT_ERRNO", errnoRet=ENOSYS),
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}])
    r = runtime.run(b)
    assert r.stdout == "done\n", r.stderr
    assert "Function not implemented" in r.stderr
    assert "Invalid cross-device link" in r.stderr


def test_seccomp_mode_is_filter(bundle, runtime):
    b = bundle(["cat", "/proc/self/status"])
    b.linux["seccomp"] = seccomp_profile([deny_mkdir("SCMP_ACT_ERRNO")])
    assert status_field(run_ok(runtime, b), "Seccomp") == "2"


def test_no_seccomp_mode_zero(bundle, runtime):
    b = bundle(["cat", "/proc/self/status"])
    b.linux.pop("seccomp", None)
    assert status_field(run_ok(runtime, b), "Seccomp") == "0"


# ---------------------------------------------------- argument filters ----
# kill -0 <pid> on pids that do not exist: ESRCH when allowed, ENOSYS when the
# filter matches (errnoRet 38), so each line shows whether the rule matched.
PIDS = [1, 4, 5, 6, 300, 600, 1000]
KILL_SCRIPT_ERR = " ".join("kill -0 %d;" % p for p in PIDS)


def _kill_matrix(runtime, bundle, args):
    b = bundle(["sh", "-c", KILL_SCRIPT_ERR])
    b.linux["seccomp"] = seccomp_profile([{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                                           "errnoRet": ENOSYS, "args": args}])
    r = runtime.run(b)
    matched = []
    for line in r.stderr.splitlines():
        if "Function not implemented" in line:
            matched.append(int(line.split("pid ")[1].split(":")[0]))
    unmatched = [int(l.split("pid ")[1].split(":")[0]) for l in r.stderr.splitlines()
                 if "No such process" in l]
    return matched, unmatched


@pytest.mark.parametrize("op,value,value_two,want", [
    ("SCMP_CMP_NE", 1, None, [4, 5, 6, 300, 600, 1000]),
    ("SCMP_CMP_EQ", 5, None, [5]),
    ("SCMP_CMP_LT", 5, None, [1, 4]),
    ("SCMP_CMP_LE", 5, None, [1, 4, 5]),
    ("SCMP_CMP_GT", 5, None, [6, 300, 600, 1000]),
    ("SCMP_CMP_GE", 5, None, [5, 6, 300, 600, 1000]),
    ("SCMP_CMP_MASKED_EQ", 0xff00, 0x100, [300]),
])
def test_argument_operator(bundle, runtime, op, value, value_two, want):
    arg = {"index": 0, "value": value, "op": op}
    if value_two is not None:
        arg["valueTwo"] = value_two
    matched, unmatched = _kill_matrix(runtime, bundle, [arg])
    assert matched == want
    # pid 1 (the shell itself) exists: kill -0 1 succeeds when not matched
    assert sorted(matched + unmatched + ([] if 1 in want else [1])) == PIDS


def test_argument_conditions_are_anded(bundle, runtime):
    # kill(pid > 5, sig == 0): only signal-0 probes of the big pids match
    b = bundle(["sh", "-c", "kill -0 300; kill -9 300; kill -0 4"])
    b.linux["seccomp"] = seccomp_profile([{
        "names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
        "args": [{"index": 0, "value": 5, "op": "SCMP_CMP_GT"},
                 {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}])
    r = runtime.run(b)
    lines = [l for l in r.stderr.splitlines() if "kill" in l]
    assert len(lines) == 3, r.stderr
    assert "Function not implemented" in lines[0]
    assert "No such process" in lines[1]
    assert "No such process" in lines[2]


def test_socket_family_filter(bundle, runtime):
    # deny socket(AF_INET, ...) only: IPv4 fails with EPERM, IPv6 gets further
    b = bundle(["sh", "-c", "nc -w 1 127.0.0.1 9; echo v4=$?; nc -w 1 ::1 9; echo v6=$?"])
    os.symlink("busybox", os.path.join(b.rootfs, "bin", "nc"))
    b.linux["seccomp"] = seccomp_profile([{
        "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
        "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    errs = [l for l in r.stderr.splitlines() if l.startswith("nc:")]
    assert len(errs) == 2, r.stderr
    assert "Operation not permitted" in errs[0]
    assert "Operation not permitted" not in errs[1]


# --------------------------------------------------------------- flags ----
@pytest.mark.husk_only  # runc 1.1.5: "seccomp flags are not yet supported by runc"
@pytest.mark.parametrize("flag", ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                  "SECCOMP_FILTER_FLAG_TSYNC"])
def test_filter_flag_accepted_and_filter_active(bundle, runtime, flag):
    b = bundle(["sh", "-c", "mkdir /dev/shm/d; echo rc=$?"])
    b.linux["seccomp"] = seccomp_profile([deny_mkdir("SCMP_ACT_ERRNO")], flags=[flag])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "rc=1"
    assert "Operation not permitted" in r.stderr


def test_empty_flags_list(bundle, runtime):
    b = bundle(["sh", "-c", "mkdir /dev/shm/d; echo rc=$?"])
    b.linux["seccomp"] = seccomp_profile([deny_mkdir("SCMP_ACT_ERRNO")], flags=[])
    assert run_ok(runtime, b).strip() == "rc=1"


# ----------------------------------------------------------------- exec ---
def test_exec_process_gets_the_filter(bundle, runtime):
    b = bundle(["sleep", "1000"])
    b.linux["seccomp"] = seccomp_profile([deny_mkdir("SCMP_ACT_ERRNO", errnoRet=ENOSYS)])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /dev/shm/d")
    assert r.returncode == 1
    assert status_field(r.stdout, "Seccomp") == "2"
    assert "Function not implemented" in r.stderr


# -------------------------------------------------------------- notify ----
def test_notify_listener_gets_state_and_answers(bundle, runtime, tmpdir_s):
    sock = os.path.join(tmpdir_s, "seccomp.sock")
    listener = SeccompListener(sock, errno_=18)   # EXDEV
    try:
        b = bundle(["sh", "-c", "mkdir /dev/shm/d; echo rc=$?"])
        b.config["annotations"] = {"org.example.seccomp": "yes"}
        b.linux["seccomp"] = seccomp_profile([deny_mkdir("SCMP_ACT_NOTIFY")],
                                             listenerPath=sock,
                                             listenerMetadata="meta-husk-test")
        r = runtime.run(b)
    finally:
        listener.close()
    assert listener.error is None, listener.error
    assert listener.state is not None, "the runtime never sent the container process state"
    assert listener.nfds == 1, listener.nfds
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "rc=1"
    assert "Invalid cross-device link" in r.stderr
    st = listener.state
    assert st is not None, "the runtime never sent the container process state"
    assert st["metadata"] == "meta-husk-test"
    assert st["fds"] == ["seccompFd"] and listener.nfds == 1
    assert st["pid"] > 0
    assert st["state"]["id"] == b.id
    assert st["state"]["annotations"] == {"org.example.seccomp": "yes"}
    assert st["ociVersion"]
    assert set(listener.syscalls) & {83, 258}, listener.syscalls   # mkdir / mkdirat

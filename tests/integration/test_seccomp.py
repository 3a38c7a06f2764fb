"""linux.seccomp: errno actions, kill, argument filters, log."""
from helpers.util import status_field
from helpers.conformance import SECCOMP_ALLOWED

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

# enough for busybox sh + applets when everything else is denied
ALLOWED = SECCOMP_ALLOWED


def seccomp(rules, default="SCMP_ACT_ALLOW", **extra):
    s = {"defaultAction": default, "architectures": ARCHES, "syscalls": rules}
    s.update(extra)
    return s


def deny_mkdir(**rule):
    r = {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
    r.update(rule)
    return r


def test_errno_eperm(bundle, runtime):
    b = bundle(["sh", "-c", "mkdir /dev/shm/d; echo rc=$?; touch /dev/shm/f && echo touch-ok; "
                "grep -E '^Seccomp:' /proc/self/status"])
    b.linux["seccomp"] = seccomp([deny_mkdir(errnoRet=1)])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0] == "rc=1"
    assert out[1] == "touch-ok"
    assert status_field("\n".join(out), "Seccomp") == "2"
    assert "Operation not permitted" in r.stderr


def test_errno_enosys(bundle, runtime):
    b = bundle(["mkdir", "/dev/shm/d"])
    b.linux["seccomp"] = seccomp([deny_mkdir(errnoRet=38)])
    r = runtime.run(b)
    assert r.returncode == 1
    assert "Function not implemented" in r.stderr


def test_errno_default_is_eperm(bundle, runtime):
    b = bundle(["mkdir", "/dev/shm/d"])
    b.linux["seccomp"] = seccomp([deny_mkdir()])
    r = runtime.run(b)
    assert r.returncode == 1
    assert "Operation not permitted" in r.stderr


def test_kill_process(bundle, runtime):
    b = bundle(["mkdir", "/dev/shm/d"])
    b.linux["seccomp"] = seccomp([deny_mkdir(action="SCMP_ACT_KILL_PROCESS")])
    r = runtime.run(b)
    assert r.returncode == 128 + 31, (r.returncode, r.stderr)   # SIGSYS


def test_argument_filter(bundle, runtime):
    # deny personality(PER_LINUX32) only: linux32 fails, linux64 (PER_LINUX) works
    b = bundle(["sh", "-c", "linux64 true && echo linux64-ok; linux32 true; echo rc=$?"])
    b.linux["seccomp"] = seccomp([{
        "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
        "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["linux64-ok", "rc=1"]
    assert "Operation not permitted" in r.stderr


def test_log_action_allows(bundle, runtime):
    b = bundle(["sh", "-c", "mkdir /dev/shm/d && echo made"])
    b.linux["seccomp"] = seccomp([deny_mkdir(action="SCMP_ACT_LOG")])
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "made\n"


def test_default_errno_with_allow_rules(bundle, runtime):
    # default ERRNO(EPERM) except what is allowed: `mkdir` is not in the allow list
    b = bundle(["sh", "-c", "echo before; mkdir /dev/shm/d; echo rc=$?"])
    b.linux["seccomp"] = seccomp([{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}],
                                 default="SCMP_ACT_ERRNO")
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["before", "rc=1"]
    assert "Operation not permitted" in r.stderr


def test_default_errno_ret(bundle, runtime):
    # runtime-spec 1.1 defaultErrnoRet: mkdir is not allowed and gets ENOSYS
    b = bundle(["sh", "-c", "echo before; mkdir /dev/shm/d; echo rc=$?"])
    b.linux["seccomp"] = seccomp([{"names": ALLOWED, "action": "SCMP_ACT_ALLOW"}],
                                 default="SCMP_ACT_ERRNO", defaultErrnoRet=38)
    r = runtime.run(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["before", "rc=1"]
    assert "Function not implemented" in r.stderr


def test_unknown_action_fails(bundle, runtime, leaks):
    b = bundle(["true"])
    b.linux["seccomp"] = seccomp([deny_mkdir(action="SCMP_ACT_NOPE")])
    before = leaks.snapshot()
    r = runtime.run(b)
    assert r.returncode != 0
    assert "SCMP_ACT_NOPE" in r.stderr
    leaks.assert_clean(before)

"""Crash safety (issue 9): a husk killed at any step of create or delete, or
a container init killed during its setup, leaves nothing that one normal
`delete --force` does not clean up; and concurrent commands stay consistent.

The crashes come from fault points (base/fault.h): build-faults/husk, built
here with `make -s faults`, SIGKILLs itself at the point named by the
HUSK_FAULT environment variable. After each crash the NORMAL build runs
`delete --force`, and the leak checker must find no state directory, no
cgroup under the session's parent, no mount under the session's temp dir and
no process. The network points run inside a private network namespace that
plays the host (as test_network.py does), and also check that no veth and no
address lease is left.
"""
import concurrent.futures
import itertools
import json
import os
import signal
import subprocess

import pytest

from helpers.bundle import Bundle, cgroups_path
from helpers.leaks import LeakChecker
from helpers.runtime import Runtime

pytestmark = pytest.mark.husk_only   # fault points are husk's own

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTS_BIN = os.path.join(REPO, "build-faults", "husk")

# Every fault point of create, in the order create reaches them. "init-..."
# kill the container's init; the others kill `husk create` itself.
CREATE_POINTS = [
    "create-after-statedir",     # <root>/<id> made, nothing in it
    "create-after-cgroup",       # cgroup made, first state.json (pid 0)
    "create-after-clone",
    "create-after-mappings",
    "create-after-go",
    "init-after-mounts",
    "create-after-cgroup-join",
    "init-after-pivot",
    "init-before-ready",
    "create-after-ready",        # init waits for SYNC_COMMIT
    "create-after-state",        # final state.json, before the pid file
    "create-after-pidfile",      # before SYNC_COMMIT
]
DELETE_POINTS = ["delete-after-kill", "delete-after-cgroup", "delete-before-remove",
                 "delete-mid-remove"]
NETWORK_POINTS = ["create-after-network", "create-after-go", "init-before-ready",
                  "create-after-ready", "create-after-pidfile"]


@pytest.fixture(scope="module")
def faults_bin():
    other = os.environ.get("HUSK_BIN")
    if other and os.path.realpath(other) != os.path.realpath(os.path.join(REPO, "build", "husk")):
        pytest.skip("HUSK_BIN is another runtime: fault points need husk's own build-faults/husk")
    r = subprocess.run(["make", "-s", "faults"], cwd=REPO, capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0 or not os.access(FAULTS_BIN, os.X_OK):
        pytest.skip("build-faults/husk not built (`make faults` failed: %s)"
                    % (r.stderr.strip()[-300:] or "no binary"))
    return FAULTS_BIN


def faulty(rt, binary, point, *args, timeout=30):
    env = dict(os.environ, HUSK_FAULT=point)
    argv = [binary] + rt.argv(*args)[1:]
    return rt.raw(argv, env=env, timeout=timeout)


def expect_crash(r, point):
    if point.startswith("init-"):
        # the init died: create must fail cleanly (it undoes what it made)
        assert r.returncode > 0, "create survived %s: rc=%s %s" % (point, r.returncode, r.stderr)
    else:
        assert r.returncode == -signal.SIGKILL, \
            "%s: expected SIGKILL, got rc=%s %s" % (point, r.returncode, r.stderr)


def pidfile_arg(tmpdir, cid):
    return ["--pid-file", os.path.join(tmpdir, cid + ".pid")]


# ------------------------------------------------------------- create points --
@pytest.mark.parametrize("point", CREATE_POINTS)
def test_create_killed(point, faults_bin, runtime, bundle, leaks, tmpdir_s):
    b = bundle(["sleep", "100"])
    before = leaks.snapshot()
    runtime.track(b.id)
    r = faulty(runtime, faults_bin, point, "create", "--bundle", b.path,
               *pidfile_arg(tmpdir_s, b.id), b.id)
    expect_crash(r, point)
    # a half-made container is never shown as running
    st = runtime.state(b.id)
    if st.returncode == 0:
        assert json.loads(st.stdout)["status"] == "stopped", st.stdout
    listed = runtime.list("--format", "json")
    assert listed.returncode == 0, listed.stderr
    for c in json.loads(listed.stdout or "[]") or []:
        if c["id"] == b.id:
            assert c["status"] == "stopped", c
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, "delete --force after %s: %s" % (point, r.stderr)
    assert not os.path.exists(os.path.join(runtime.root, b.id))
    leaks.assert_clean(before, what="create killed at " + point)


def test_create_killed_plain_delete(faults_bin, runtime, bundle, leaks):
    """Without --force too: a create that died is not running."""
    for point in ("create-after-statedir", "create-after-cgroup", "create-after-ready"):
        b = bundle(["sleep", "100"])
        before = leaks.snapshot()
        runtime.track(b.id)
        expect_crash(faulty(runtime, faults_bin, point, "create", "--bundle", b.path, b.id),
                     point)
        r = runtime.delete(b.id)
        assert r.returncode == 0, "delete after %s: %s" % (point, r.stderr)
        leaks.assert_clean(before, what="create killed at %s, then delete" % point)


def test_create_killed_then_same_id(faults_bin, runtime, bundle, leaks):
    """After the cleanup the id is free again and works normally."""
    b = bundle(["sleep", "100"])
    before = leaks.snapshot()
    runtime.track(b.id)
    expect_crash(faulty(runtime, faults_bin, "create-after-clone", "create", "--bundle",
                        b.path, b.id), "create-after-clone")
    assert runtime.delete(b.id, force=True).returncode == 0
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    assert runtime.state_json(b.id)["status"] == "created"
    assert runtime.delete(b.id, force=True).returncode == 0
    leaks.assert_clean(before, what="re-create after a crash")


# ------------------------------------------------------------- delete points --
@pytest.mark.parametrize("point", DELETE_POINTS)
def test_delete_killed(point, faults_bin, runtime, bundle, leaks):
    b = bundle(["sleep", "100"])
    before = leaks.snapshot()
    r = runtime.create(b)
    assert r.returncode == 0, r.stderr
    assert runtime.start(b.id).returncode == 0
    r = faulty(runtime, faults_bin, point, "delete", "--force", b.id)
    expect_crash(r, point)
    r = runtime.delete(b.id, force=True)
    assert r.returncode == 0, "delete --force after %s: %s" % (point, r.stderr)
    assert not os.path.exists(os.path.join(runtime.root, b.id))
    leaks.assert_clean(before, what="delete killed at " + point)


# ------------------------------------------------------------ network points --
@pytest.mark.parametrize("point", NETWORK_POINTS)
def test_network_create_killed(point, faults_bin, session, tmpdir_s, bundle):
    from test_network import HostNetns, NsRuntime
    host = HostNetns()
    root = os.path.join(tmpdir_s, "state")
    os.makedirs(root, mode=0o700)
    rt = NsRuntime(host, os.path.join(REPO, "build", "husk"), root, session.logs)
    leaks = LeakChecker(session.dir, root, rt.binary)
    before = leaks.snapshot()
    try:
        b = bundle(["sleep", "100"])
        rt.track(b.id)
        env = dict(os.environ, HUSK_FAULT=point)
        argv = host.prefix() + [faults_bin] + Runtime.argv(rt, "create", "--bundle", b.path,
                                                           "--network", "bridge", b.id)[1:]
        expect_crash(rt.raw(argv, env=env), point)
        r = rt.delete(b.id, force=True)
        assert r.returncode == 0, "delete --force after %s: %s" % (point, r.stderr)
        stores = {e for e in os.listdir(root) if e.startswith(".net@")}
        for s in stores:
            leased = [n for n in os.listdir(os.path.join(root, s))
                      if n[0].isdigit() or ":" in n]
            assert leased == [], "address lease left after %s: %s" % (point, leased)
        before["state"] |= stores
        leaks.assert_clean(before, what="network create killed at " + point)
        import time
        deadline = time.monotonic() + 3
        while host.veths() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert host.veths() == [], "veth left after %s" % point
    finally:
        rt.cleanup()
        host.close()


# --------------------------------------------------------------- concurrency --
def shared_bundles(session, bundle, n, args):
    """n bundles (one config each, its own cgroup) sharing one rootfs."""
    first = bundle(args)
    out = [first]
    for _ in range(n - 1):
        cid = session.new_id("conc")
        path = os.path.join(session.bundles, cid)
        os.makedirs(path)
        b = Bundle(path, cid, args)
        b.config["root"]["path"] = first.rootfs
        out.append(b.save())
    return out


_CALLS = itertools.count()


def call(rt, *args):
    """One command with its own output files (Runtime's default names are
    per helper object, and would collide between threads)."""
    n = next(_CALLS)
    out = os.path.join(rt.logdir, "conc-%d-%d.out" % (os.getpid(), n))
    return rt.raw(rt.argv(*args), out=out, err=out[:-4] + ".err")


def clean_error(r):
    """Succeeded, or failed with an ordinary error (no signal, a message)."""
    return r.returncode == 0 or (r.returncode > 0 and r.stderr.strip() != "")


def test_concurrent_create_delete_distinct(session, runtime, bundle, leaks):
    bundles = shared_bundles(session, bundle, 200, ["sleep", "100"])
    before = leaks.snapshot()
    for b in bundles:
        runtime.track(b.id)

    def one(b):
        rt = session.runtime()
        c = call(rt, "create", "--bundle", b.path, b.id)
        d = call(rt, "delete", "--force", b.id)
        return b.id, c, d

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, bundles))
    bad = [(cid, c.returncode, c.stderr, d.returncode, d.stderr)
           for cid, c, d in results if c.returncode or d.returncode]
    assert not bad, bad[:5]
    assert os.listdir(runtime.root) == [] or \
        not set(os.listdir(runtime.root)) & {b.id for b in bundles}
    leaks.assert_clean(before, settle=10, what="200 concurrent create/delete")


def test_concurrent_commands_one_id(session, runtime, bundle, leaks):
    b = bundle(["sleep", "100"])
    before = leaks.snapshot()
    runtime.track(b.id)
    verbs = ["create", "start", "state", "kill", "delete"] * 4

    def one(verb):
        rt = session.runtime()
        if verb == "create":
            return verb, call(rt, "create", "--bundle", b.path, b.id)
        if verb == "kill":
            return verb, call(rt, "kill", b.id, "KILL")
        return verb, call(rt, verb, b.id)

    for _ in range(3):
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            results = list(pool.map(one, verbs))
        for verb, r in results:
            assert clean_error(r), "%s: rc=%s %r" % (verb, r.returncode, r.stderr)
            if verb == "state" and r.returncode == 0:
                st = json.loads(r.stdout)
                assert st["id"] == b.id and st["status"] in ("created", "running", "stopped")
                assert st["status"] == "stopped" or st["pid"] > 0, st
        assert sum(1 for v, r in results if v == "create" and r.returncode == 0) <= 4
        r = runtime.delete(b.id, force=True)
        assert r.returncode == 0, r.stderr
        assert not os.path.exists(os.path.join(runtime.root, b.id))
        leaks.assert_clean(before, what="20 concurrent commands on one id")

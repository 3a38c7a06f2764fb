"""Resource leaks: many containers come and go and leave no file
descriptor, state entry, mount, process or cgroup behind."""
import os
import time

from helpers.leaks import husk_test_cgroups

N_RUN = 200
N_CYCLE = 50


def test_leak_checker_sees_a_live_container(bundle, runtime, leaks):
    """The checker itself: a created container shows up in every category."""
    b = bundle(["sleep", "1000"])
    before = leaks.snapshot()
    assert runtime.create(b).returncode == 0
    diff = leaks.diff(before, leaks.snapshot())
    assert "state" in diff and "cgroups" in diff and "procs" in diff, diff
    assert runtime.delete(b.id, force=True).returncode == 0
    leaks.assert_clean(before)


def test_checker_sees_a_mount(leaks, tmpdir_s):
    import subprocess
    before = leaks.snapshot()
    d = os.path.join(tmpdir_s, "m")
    os.mkdir(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "husk-it-probe", d],
                   check=True, timeout=10)
    try:
        assert "mounts" in leaks.diff(before, leaks.snapshot())
    finally:
        subprocess.run(["umount", d], check=True, timeout=10)
    leaks.assert_clean(before)


def test_many_runs_leave_nothing(bundle, runtime, leaks):
    b = bundle(["/bin/true"])
    before = leaks.snapshot(fds=True)
    t0 = time.monotonic()
    failures = []
    for i in range(N_RUN):
        b.use_id("%s-%d" % (b.id.rsplit("-", 1)[0], 1000 + i))
        r = runtime.run(b)
        if r.returncode != 0:
            failures.append((b.id, r.returncode, r.stderr[-300:]))
    elapsed = time.monotonic() - t0
    assert not failures, failures[:5]
    leaks.assert_clean(before, what="%d runs" % N_RUN)
    assert os.listdir(runtime.root) == [] or set(os.listdir(runtime.root)) <= before["state"]
    assert elapsed < 90, "%d runs took %.1fs" % (N_RUN, elapsed)


def test_create_start_delete_cycles_leave_nothing(bundle, runtime, leaks):
    b = bundle(["/bin/true"])
    before = leaks.snapshot(fds=True)
    for i in range(N_CYCLE):
        b.use_id("%s-%d" % (b.id.rsplit("-", 1)[0], 5000 + i))
        assert runtime.create(b).returncode == 0, runtime.output(b.id)
        assert runtime.start(b.id).returncode == 0
        runtime.wait_status(b.id, "stopped")
        r = runtime.delete(b.id)
        assert r.returncode == 0, r.stderr
    leaks.assert_clean(before, what="%d create/start/delete cycles" % N_CYCLE)


def test_force_delete_of_running_containers_leaves_nothing(bundle, runtime, leaks):
    b = bundle(["sleep", "1000"])
    before = leaks.snapshot(fds=True)
    ids = []
    for i in range(10):
        b.use_id("%s-%d" % (b.id.rsplit("-", 1)[0], 7000 + i))
        assert runtime.run(b, detach=True).returncode == 0
        ids.append(b.id)
    assert len([c for c in husk_test_cgroups() if any(c.endswith(i) for i in ids)]) >= 10
    for cid in ids:
        assert runtime.delete(cid, force=True).returncode == 0
    leaks.assert_clean(before, what="10 force-deleted running containers")

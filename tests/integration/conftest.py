"""Fixtures for the husk integration suite.

HUSK_BIN selects the runtime under test (default <repo>/build/husk).  Run the
suite against runc to validate the tests themselves:
    HUSK_BIN=/usr/sbin/runc /usr/bin/python3 -m pytest tests/integration -q -p no:cacheprovider
Tests marked `husk_only` check places where husk deliberately differs from
runc (or follows the spec where runc 1.1 does not) and are skipped for runc.

Safety rules kept here: every container gets an absolute cgroupsPath
"/husk-tests-<pid>/<id>", the runtime state lives in a private --root under
the session's temp dir, and teardown force-deletes every container a test
made.

HUSK_CGROUP_MANAGER=systemd runs the same tests with the systemd cgroup
manager (--systemd-cgroup, cgroupsPath "husk-tests-<pid>.slice:husk:<id>");
that needs systemd as PID 1, as in the guest of test_cgroup_guest.py.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from helpers import sanitizer  # noqa: E402
from helpers.bundle import GLOBAL_ARGS, SYSTEMD, TEST_SLICE, Bundle, make_rootfs  # noqa: E402
from helpers.leaks import LeakChecker, _read  # noqa: E402
from helpers.runtime import Runtime  # noqa: E402

from helpers.binary import HUSK_BIN, IS_RUNC, REPO  # noqa: E402,F401


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "husk_only: checks a deliberate husk difference from runc; skipped "
        "when HUSK_BIN is runc")


def pytest_report_header(config):
    return "runtime under test: %s%s%s" % (
        HUSK_BIN, " (runc: husk_only tests skipped)" if IS_RUNC else "",
        "; sanitizer reports in %s fail tests" % sanitizer.LOG_DIR if sanitizer.LOG_DIR else "")


@pytest.fixture(autouse=True)
def _no_sanitizer_report():
    """Any ASan/LSan/UBSan report from husk fails the test it came in
    (helpers/sanitizer.py), whatever the test itself checked."""
    yield
    reports = sanitizer.take()
    if reports:
        pytest.fail("sanitizer report(s):\n" + "\n".join(reports), pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    reports = sanitizer.take()     # from session teardown, after the last test
    if reports:
        sys.stderr.write("husk tests: sanitizer report(s) outside any test:\n%s\n"
                         % "\n".join(reports))
        session.exitstatus = 1


def pytest_collection_modifyitems(config, items):
    # HUSK_TESTS_ALL=1 runs husk_only tests against runc too (to see how runc differs)
    if not IS_RUNC or os.environ.get("HUSK_TESTS_ALL") == "1":
        return
    skip = pytest.mark.skip(reason="husk_only: husk deliberately differs from runc here")
    for item in items:
        if "husk_only" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------- session --
class Session:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="husk-it-", dir="/tmp")
        os.chmod(self.dir, 0o755)      # user-namespaced containers traverse it
        self.root = os.path.join(self.dir, "state")
        self.logs = os.path.join(self.dir, "logs")
        self.bundles = os.path.join(self.dir, "bundles")
        for d in (self.root, self.logs, self.bundles):
            os.makedirs(d)
            os.chmod(d, 0o755)
        os.chmod(self.root, 0o700)
        self.seq = 0
        self.all_ids = set()

    def new_id(self, hint="c"):
        self.seq += 1
        hint = re.sub(r"[^A-Za-z0-9]+", "-", hint).strip("-")[:28] or "c"
        return "%s-%d-%d" % (hint, os.getpid(), self.seq)

    def runtime(self):
        return Runtime(HUSK_BIN, self.root, self.logs, register=self.all_ids.add,
                       global_args=GLOBAL_ARGS)

    def finish(self):
        rt = self.runtime()
        for cid in sorted(os.listdir(self.root)):   # whatever a test left behind
            try:
                rt.delete(cid, force=True, timeout=20)
            except Exception:
                pass
        remove_test_cgroups()
        leftover = [l for l in _read("/proc/self/mountinfo").splitlines() if self.dir in l]
        if leftover:
            sys.stderr.write("husk tests: mounts left under %s, not removing it:\n%s\n"
                             % (self.dir, "\n".join(leftover)))
            return
        shutil.rmtree(self.dir, ignore_errors=True)


def remove_test_cgroups():
    """rmdir the husk-tests parents (and any empty child left) bottom-up."""
    import glob
    from helpers.bundle import TEST_CGROUP_ROOT
    if SYSTEMD:   # the session's slice is systemd's to remove
        subprocess.run(["systemctl", "stop", TEST_SLICE], capture_output=True, timeout=60)
    for top in glob.glob("/sys/fs/cgroup/*" + TEST_CGROUP_ROOT) + glob.glob("/sys/fs/cgroup" + TEST_CGROUP_ROOT):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


@pytest.fixture(scope="session")
def session():
    s = Session()
    yield s
    s.finish()


# ---------------------------------------------------------------- fixtures --
@pytest.fixture(scope="session")
def husk_bin():
    return HUSK_BIN


@pytest.fixture
def runtime(session, request):
    if not os.access(HUSK_BIN, os.X_OK):
        pytest.fail("runtime binary %s not found (set HUSK_BIN or run make)" % HUSK_BIN)
    rt = session.runtime()
    rt.hint = request.node.name
    yield rt
    rt.cleanup()


@pytest.fixture
def new_id(session, request):
    """new_id() -> a fresh unique container id for this test."""
    return lambda: session.new_id(request.node.name)


@pytest.fixture
def tmpdir_s(session, request):
    """A fresh directory for this test inside the session dir (mode 0755)."""
    d = tempfile.mkdtemp(prefix="t-", dir=session.dir)
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def bundle(session, request):
    """bundle(args=None) -> helpers.bundle.Bundle with a busybox rootfs, a
    runc-spec default config (terminal false, cgroupsPath cgroups_path(id))
    already saved.  Edit b.config and call b.save() (run/create save too)."""
    def make(args=None):
        cid = session.new_id(request.node.name)
        path = os.path.join(session.bundles, cid)
        os.makedirs(path)
        os.chmod(path, 0o755)
        make_rootfs(os.path.join(path, "rootfs"))
        b = Bundle(path, cid, args)
        b.save()
        return b
    return make


@pytest.fixture
def leaks(session):
    return LeakChecker(session.dir, session.root, HUSK_BIN)


@pytest.fixture
def host_ns():
    """host_ns('uts') -> the host's 'uts:[4026531838]' link text."""
    return lambda kind: os.readlink("/proc/self/ns/" + kind)

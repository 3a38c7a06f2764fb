"""Fixtures for the engine suites: the real containerd 1.6 and podman 4.3 from
Debian, each driving husk (HUSK_BIN, default <repo>/build/husk).

Self-contained: it imports only modules of this folder (engine_util,
engine_daemons, engine_cri), and its fixture names all start with `eng_`,
`cd_`, `pm_` or `k8s`/`kube`, so `pytest tests/integration tests/engines`
runs both suites in one invocation.  Suites: test_containerd.py (ctr),
test_kubernetes.py (containerd's CRI plugin, the kubelet's calls),
test_podman.py and test_vm_engines.py (both engines with husk-vm); each prints its own totals in the "husk engine suites" section.

Safety rules:
- every daemon is started by the fixture and stopped by its own PID;
- containerd's root, state and sockets live in a private temp dir (CRI off,
  except for the Kubernetes suite's own second containerd);
  podman gets a private --root/--runroot/--tmpdir and containers.conf;
- every container gets a cgroup under /husk-engines/<pid>, never the
  machine's own; those cgroup dirs are removed at the end;
- after each test: no container, no process in our cgroups, no shim/conmon
  of ours and no mount of ours is left (else the test errors at teardown).
"""
import os
import shutil
import sys
import tempfile

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_util as eu  # noqa: E402
from engine_daemons import Containerd, Podman, need_binaries  # noqa: E402

SESSION_CGROUP = eu.SESSION_CGROUP          # /husk-engines/s<pid>


# ----------------------------------------------------------------- totals --
_SUITES = {"test_containerd.py": "containerd", "test_podman.py": "podman",
           "test_kubernetes.py": "kubernetes", "test_vm_engines.py": "micro-VM"}
_totals = {}


def pytest_runtest_logreport(report):
    name = _SUITES.get(os.path.basename(report.nodeid.split("::")[0]))
    if name is None:
        return
    t = _totals.setdefault(name, {"passed": 0, "failed": 0, "skipped": 0, "error": 0})
    if report.when == "call":
        t[report.outcome] += 1
    elif report.outcome == "failed":
        t["error"] += 1          # setup or teardown failed (a leak, for instance)
    elif report.outcome == "skipped" and report.when == "setup":
        t["skipped"] += 1


def pytest_terminal_summary(terminalreporter):
    if not _totals:
        return
    terminalreporter.section("husk engine suites")
    for name in ("containerd", "kubernetes", "podman", "micro-VM"):
        t = _totals.get(name)
        if t:
            terminalreporter.write_line(
                "engines/%s: %d passed, %d failed, %d skipped, %d errors"
                % (name, t["passed"], t["failed"], t["skipped"], t["error"]))


# ------------------------------------------------------------------ shared --
@pytest.fixture(scope="session")
def eng_dir():
    d = tempfile.mkdtemp(prefix="husk-eng-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    eu.unmount_under(d)
    if not eu.rmtree_if_unmounted(d):
        sys.stderr.write("husk engines: mounts left under %s, not removing it\n" % d)
    eu.remove_cgroup_tree(SESSION_CGROUP)
    eu.remove_cgroup_tree(eu.CGROUP_PARENT)   # only removed if empty (rmdir)


@pytest.fixture(scope="session")
def eng_husk(eng_dir):
    """A private copy of HUSK_BIN, so a rebuild of build/husk during the run
    (another engineer's make) cannot pull the binary from under the engines.
    It keeps the name (husk, or runc when HUSK_BIN is runc): podman keys
    runtime_supports_json on the runtime's basename."""
    assert os.access(eu.HUSK_BIN, os.X_OK), "husk binary missing: %s (run make)" % eu.HUSK_BIN
    d = os.path.join(eng_dir, "bin")
    os.makedirs(d)
    path = os.path.join(d, os.path.basename(eu.HUSK_BIN))
    shutil.copy2(eu.HUSK_BIN, path)
    # VM mode finds its guest agent beside the binary it runs from, and
    # conmon hands the runtime no HUSK_AGENT; the husk-vm name selects VM
    # mode (vm/vm.h), so engines can name it as a runtime binary of its own
    agent = eu.husk_agent()
    if os.access(agent, os.R_OK):
        shutil.copy2(agent, os.path.join(d, "husk-agent"))
    if os.path.basename(path) != eu.HUSK_VM_NAME:
        os.symlink(os.path.basename(path), os.path.join(d, eu.HUSK_VM_NAME))
    return path


@pytest.fixture(scope="session")
def eng_husk_vm(eng_husk):
    """husk-vm beside the private copy of husk and its agent; skips with the
    reason when this machine cannot run a micro-VM."""
    reason = eu.vm_skip_reason()
    if reason:
        pytest.skip(reason)
    return os.path.join(os.path.dirname(eng_husk), eu.HUSK_VM_NAME)


@pytest.fixture(scope="session")
def eng_image_tar(eng_dir):
    path = os.path.join(eng_dir, "husk-busybox.tar")
    eu.build_image_tar(path)
    return path


@pytest.fixture(scope="session")
def eng_pause_tar(eng_dir):
    path = os.path.join(eng_dir, "husk-pause.tar")
    eu.build_image_tar(path, eu.PAUSE_REF, eu.PAUSE_CMD)
    return path


# -------------------------------------------------------------- containerd --
@pytest.fixture(scope="module")
def cd_daemon(eng_dir, eng_husk, eng_image_tar):
    need_binaries("containerd", "ctr", "containerd-shim-runc-v2")
    d = Containerd(os.path.join(eng_dir, "containerd"), eng_husk, [eng_image_tar])
    yield d
    d.close()


@pytest.fixture
def cd(cd_daemon):
    """The module's containerd; after the test, everything it made must be gone."""
    yield cd_daemon
    problems = cd_daemon.leaks()
    cd_daemon.remove_all()
    assert not problems, "; ".join(problems)


# ------------------------------------------------------------------ podman --
@pytest.fixture(scope="module")
def pm_engine(eng_dir, eng_husk, eng_image_tar):
    need_binaries("podman", "conmon")
    p = Podman(os.path.join(eng_dir, "podman"), eng_husk, eng_image_tar)
    yield p
    p.close()


@pytest.fixture
def pm(pm_engine):
    yield pm_engine
    problems = pm_engine.leaks()
    pm_engine.remove_all()
    assert not problems, "; ".join(problems)

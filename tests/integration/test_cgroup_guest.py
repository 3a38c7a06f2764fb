"""The cgroup tests on a machine like most runc users have: pure cgroup v2 with
systemd as PID 1. This machine is hybrid and has no systemd, so a QEMU
guest (tests/guest/guest.py: this machine's own / over 9p, Debian's kernel,
booted once per session) runs the cgroup and resource tests of this suite
twice, with the runtime under test:

  - v2-cgroupfs: the v2 cgroupfs driver (cgroups/v2*.c, the eBPF device
    filter), with the usual /husk-tests-<pid>/<id> cgroupsPath;
  - v2-systemd:  --systemd-cgroup, each container a transient scope in the
    session's slice (HUSK_CGROUP_MANAGER=systemd), plus the systemd checks
    of test_systemd_cgroup.py;

and, in a second boot with systemd's hybrid layout (v1 controllers, cgroup2
at /sys/fs/cgroup/unified: this machine's layout, as Debian 11 and Ubuntu
20.04 hosts have it), once more with the systemd manager:

  - hybrid-systemd: the systemd driver on v1, where systemd makes the
    directories of the controllers it drives and husk the rest.

Each inner run is one test here, failing with the inner summary; the inner
totals are printed either way. Skips (with the reason) when QEMU, the kernel
or busybox-static is missing, or with HUSK_SKIP_GUEST=1. Under TCG (no KVM)
the guest boots in about 10 s and the two runs take minutes.

Alone:  HUSK_BIN=$PWD/build/husk /usr/bin/python3 -m pytest -p no:cacheprovider \\
            tests/integration/test_cgroup_guest.py
"""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "guest"))
import guest  # noqa: E402

HUSK_BIN = os.path.abspath(os.environ.get("HUSK_BIN") or os.path.join(REPO, "build", "husk"))

# The selection the lead's host check uses too, over the whole suite.
SELECT = "cgroup or resources"
# (name, manager, cgroup layout of the boot: guest.CGROUP_ARGS)
RUNS = [("v2-cgroupfs", "cgroupfs", "v2"), ("v2-systemd", "systemd", "v2"),
        ("hybrid-systemd", "systemd", "hybrid")]
# Per inner run; one takes 35-50 s under TCG here.
TIMEOUT = int(os.environ.get("HUSK_GUEST_TIMEOUT", "300"))
# A run still going after this long leaves <name>.hang: every process with
# its state and wait channel, and the kernel stacks of husk's; pytest's
# faulthandler prints the stuck test's Python stack into the log.
HANG_AFTER = min(240, TIMEOUT // 2)


def inner_command(layout):
    lines = ["cd %s" % REPO,
             "export HUSK_BIN=%s PYTHONDONTWRITEBYTECODE=1" % HUSK_BIN,
             "echo \"$(uname -r), $(stat -f -c %T /sys/fs/cgroup), "
             "$(cat /proc/1/comm) as PID 1\" > /results/about"]
    for name, manager, _ in [r for r in RUNS if r[2] == layout]:
        lines.append(
            "(sleep %d; { ps --ppid 2 -p 2 --deselect -o pid,ppid,stat,wchan:32,args; for p in $(pgrep husk); do "
            "echo \"== $p\"; cat /proc/$p/stack; done; } > /results/%s.hang 2>&1) & w=$!"
            % (HANG_AFTER, name))
        lines.append(
            "HUSK_CGROUP_MANAGER=%s timeout %d /usr/bin/python3 -m pytest -p no:cacheprovider "
            "-q -rfE -o faulthandler_timeout=%d --junitxml=/results/%s.xml tests/integration "
            "-k '%s' > /results/%s.log 2>&1; echo $? > /results/%s.rc; kill $w"
            % (manager, TIMEOUT, HANG_AFTER // 2, name, SELECT, name, name))
    return "\n".join(lines)


def _faults_build():
    # The crash-safety tests among the selection run `make faults`; doing it
    # here spares the guest compiling under emulation.
    if os.path.realpath(HUSK_BIN) == os.path.realpath(os.path.join(REPO, "build", "husk")):
        subprocess.run(["make", "-s", "faults"], cwd=REPO, capture_output=True, timeout=900)


def _totals(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    t = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    t["passed"] = t["tests"] - t["failures"] - t["errors"] - t["skipped"]
    return t


def _summary(log):
    lines = [l for l in log.splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def _print(request, lines):
    """To the terminal, past pytest's capture: the totals show either way."""
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if not tr or not capman:
        return
    with capman.global_and_fixture_disabled():
        tr.write_line("")
        for line in lines:
            tr.write_line(line)


def _stuck(r, layout):
    """Names of the runs of this boot that never finished (timed out)."""
    return [n for n, _, l in RUNS if l == layout and
            guest._read(os.path.join(r.dir, n + ".rc")).strip() in ("", "124")]


def _boot(layout, lines):
    """One boot of the guest for layout's runs, and a second one if a run
    hung: once in about seven boots a run stopped making progress in the
    guest (seen once, in CI; the cause is not known yet). What was running
    then is printed either way, and a run that hangs twice fails."""
    runs = sum(1 for r in RUNS if r[2] == layout)
    r = guest.run(inner_command(layout), timeout=TIMEOUT * runs + 300, cgroup=layout)
    stuck = _stuck(r, layout)
    if not stuck:
        return r
    lines.append("guest (%s): %s did not finish; booting again. Still running after %d s:"
                 % (layout, ", ".join(stuck), HANG_AFTER))
    for n in stuck:
        hang = guest._read(os.path.join(r.dir, n + ".hang"))
        log = guest._read(os.path.join(r.dir, n + ".log"))
        lines.extend((hang or "(nothing recorded)").splitlines()[-80:])
        lines.extend(("--- %s.log (end) ---" % n,) + tuple(log.splitlines()[-60:]))
    lines.append("(first boot's results kept in %s)" % r.dir)
    return guest.run(inner_command(layout), timeout=TIMEOUT * runs + 300, cgroup=layout)


@pytest.fixture(scope="session")
def guest_runs(request):
    if os.environ.get("HUSK_SKIP_GUEST") == "1":
        pytest.skip("HUSK_SKIP_GUEST=1")
    try:
        guest.check_host()
        guest.find_kernel()
    except guest.Unavailable as e:
        pytest.skip("test guest unavailable: %s" % e)
    _faults_build()
    out, lines, boots = {}, [], {}
    for layout in dict.fromkeys(r[2] for r in RUNS):
        boots[layout] = _boot(layout, lines)
    for name, _, layout in RUNS:
        r = boots[layout]
        out[name] = {"guest": r}
        rc = guest._read(os.path.join(r.dir, name + ".rc")).strip()
        out[name]["hang"] = guest._read(os.path.join(r.dir, name + ".hang"))
        log = guest._read(os.path.join(r.dir, name + ".log"))
        t = _totals(os.path.join(r.dir, name + ".xml"))
        out[name].update(rc=int(rc) if rc.isdigit() else None, log=log, totals=t)
        lines.append("guest %s: %s%s" % (
            name, _summary(log),
            "" if not t else " (passed %(passed)d, failed %(failures)d, errors %(errors)d, "
            "skipped %(skipped)d)" % t))
    for layout, r in boots.items():
        lines.append("guest (%s): %s; %.0f s wall" % (
            layout, guest._read(os.path.join(r.dir, "about")).strip() or "did not report",
            r.seconds))
    _print(request, lines)
    yield out
    if all(v.get("rc") == 0 for v in out.values()):
        for r in boots.values():
            shutil.rmtree(r.dir, ignore_errors=True)


@pytest.mark.parametrize("name", [r[0] for r in RUNS])
def test_guest(guest_runs, name):
    res = guest_runs[name]
    g = res["guest"]
    if res["rc"] is None:
        pytest.fail("guest run %s did not finish (guest rc=%s after %.0f s; results in %s)\n"
                    "--- console (end) ---\n%s\n--- still running after %d s ---\n%s"
                    % (name, g.rc, g.seconds, g.dir, g.console[-4000:], HANG_AFTER,
                       res["hang"][-6000:] or "(nothing recorded)"))
    t = res["totals"]
    failed = [l for l in res["log"].splitlines() if re.match(r"(FAILED|ERROR) ", l)]
    assert res["rc"] == 0 and t and t["passed"] > 0, \
        "guest run %s: %s\n%s\n(full log: %s/%s.log)%s" % (
            name, _summary(res["log"]), "\n".join(failed) or res["log"][-3000:], g.dir, name,
            "\n--- still running after %d s ---\n%s" % (HANG_AFTER, res["hang"][-6000:])
            if res["hang"] else "")

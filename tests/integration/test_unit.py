"""Runs every C unit-test binary (build/tests/test_*) as one pytest test, so
the suite's final pytest summary line counts them too.  Each binary prints
"<suite>: N passed, N failed" and exits non-zero on failure."""
import glob
import os
import re
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, os.environ.get("BUILD", "build"))


def unit_binaries():
    out = []
    for p in sorted(glob.glob(os.path.join(BUILD, "tests", "test_*"))):
        if os.path.isfile(p) and os.access(p, os.X_OK) and not re.search(r"\.(d|o)$", p):
            out.append(p)
    return out


BINARIES = unit_binaries()


@pytest.mark.parametrize("binary", BINARIES, ids=[os.path.basename(b) for b in BINARIES])
def test_unit(binary):
    r = subprocess.run([binary], capture_output=True, text=True, timeout=300, cwd=REPO)
    out = r.stdout + r.stderr
    assert r.returncode == 0, "%s exited %d:\n%s" % (binary, r.returncode, out[-4000:])
    m = re.search(r"(\d+) passed, (\d+) failed", out)
    if m:
        assert m.group(2) == "0", out[-4000:]

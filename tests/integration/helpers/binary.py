"""The runtime under test: HUSK_BIN (default <repo>/build/husk), and whether
it is runc.  Test modules import these from here, never from conftest: when
tests/engines is collected in the same run, `conftest` names its conftest."""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HUSK_BIN = os.path.abspath(os.environ.get("HUSK_BIN") or os.path.join(REPO, "build", "husk"))


def _detect_runc():
    if os.path.basename(HUSK_BIN).startswith("runc"):
        return True
    try:
        r = subprocess.run([HUSK_BIN, "--version"], capture_output=True, text=True, timeout=10)
        return r.stdout.startswith("runc ")
    except (OSError, subprocess.TimeoutExpired):
        return False


IS_RUNC = _detect_runc()

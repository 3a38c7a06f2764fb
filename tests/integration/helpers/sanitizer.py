"""Reports of a husk built with ASan + UBSan (`make asan-bin`, the second
pass of tests/run.sh), so that a test fails on any report even when it only
looks at exit codes, or expects husk to fail anyway.

ASan and LeakSanitizer write their reports to files, whichever process hit
them and wherever its stderr went: tests/run.sh sets ASAN_OPTIONS log_path
to $HUSK_SANITIZER_LOG/asan (files asan.<pid>). GCC's UBSan only writes to
stderr: the runtime helpers scan what husk printed (`scan`), as they do
for ASan in a process that cannot reach the log directory. conftest.py
fails the test after which either shows up (`take`).
"""
import os
import re

LOG_DIR = os.environ.get("HUSK_SANITIZER_LOG") or None

# UBSan's "file.c:12:5: runtime error: ...", and every sanitizer's
# "==123==ERROR: AddressSanitizer: ..." (also "==123==ERROR: Can't open
# file: <log_path>" from a process that no longer sees the log directory,
# such as the container's init after pivot_root).
_REPORT = re.compile(r"(\S+:\d+:\d+: runtime error: |==\d+==ERROR: )")

_found = []
_seen = set()


def scan(text, what):
    """Records a report in text (husk's stderr), naming what ran."""
    if text and _REPORT.search(text):
        _found.append("%s:\n%s" % (what, text[-8000:]))


def scan_file(path, what):
    try:
        with open(path, "rb") as f:
            scan(f.read().decode("utf-8", "replace"), what)
    except OSError:
        pass


def take():
    """The reports since the last call: stderr ones, then new log files."""
    out = list(_found)
    del _found[:]
    if LOG_DIR and os.path.isdir(LOG_DIR):
        for name in sorted(os.listdir(LOG_DIR)):
            path = os.path.join(LOG_DIR, name)
            if path in _seen:
                continue
            _seen.add(path)
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            out.append("%s:\n%s" % (path, text[-8000:]))
    return out

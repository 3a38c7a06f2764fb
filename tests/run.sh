#!/usr/bin/env bash
# Builds husk and runs every test: each C unit-test binary (build/tests/test_*),
# natively, under valgrind memcheck and under ASan + UBSan; the fuzzers; the
# integration suite against husk built with ASan + UBSan (build-asan/husk,
# any sanitizer report fails the test it came in); last the whole pytest
# suite against the normal build, which also runs every unit binary as one
# test each, so pytest's summary is the final line and counts everything.
# Exit status is non-zero if anything failed.  Run from anywhere.
# SANITIZE=0 leaves out the sanitizer pass of the integration suite.
set -uo pipefail
cd "$(dirname "$0")/.."

# A fresh Debian 12 machine gets its build and test packages first.
bash tests/install-deps.sh || { echo "run.sh: installing packages failed" >&2; exit 2; }

BUILD=${BUILD:-build}
PYTHON=/usr/bin/python3          # Debian's, which has python3-pytest (not pyenv's)

units=()
for src in tests/unit/test_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    units+=("$BUILD/tests/$name")
done

if ! make -s all "${units[@]}"; then
    echo "run.sh: build failed" >&2
    exit 2
fi

status=0
# cppcheck over every C module (make lint): a finding fails the run.
if ! make -s lint; then
    echo "run.sh: cppcheck (make lint) FAILED" >&2
    status=1
fi

for t in "${units[@]}"; do
    if ! "$t"; then
        echo "run.sh: unit test $t FAILED" >&2
        status=1
    fi
done

# valgrind memcheck: any error, or a definite leak, fails. valgrind 3.19
# lacks openat2: the tests that need it say SKIP (tests/unit/unit.h).
for t in "${units[@]}"; do
    if ! HUSK_UNDER_VALGRIND=1 valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite "$t"; then
        echo "run.sh: unit test $t under valgrind FAILED" >&2
        status=1
    fi
done

# The same unit tests under AddressSanitizer and UBSan (build-asan/).
if ! make -s asan; then
    echo "run.sh: unit tests under ASan/UBSan FAILED" >&2
    status=1
fi

export HUSK_BIN=${HUSK_BIN:-$PWD/$BUILD/husk}
export PYTHONDONTWRITEBYTECODE=1
# libFuzzer on every parser of untrusted input, bounded in time.
FUZZ_SECONDS=${FUZZ_SECONDS:-20} bash tests/fuzz/run.sh || status=1

# The integration suite against husk built with ASan + UBSan, before the
# final pass so that pytest's summary of everything stays the last line.
# ASan and LeakSanitizer reports go to files in HUSK_SANITIZER_LOG, UBSan's
# to stderr; either fails the test (tests/integration/helpers/sanitizer.py).
# Not here: test_unit (the unit tests ran under ASan above) and
# test_crash_safety (it runs its own fault-point build, not HUSK_BIN), nor
# tests/engines (containerd and podman take minutes and test their side),
# nor the cgroup v2 + systemd guest lane (minutes under TCG; its guest has
# its own filesystem for the sanitizer logs). The micro-VM tests use the
# normal build's static agent: an ASan agent cannot be static.
if [ "${SANITIZE:-1}" = 1 ]; then
    if make -s asan-bin; then
        sanlog=$(mktemp -d /tmp/husk-sanitizer.XXXXXX)
        chmod 1777 "$sanlog"            # the rootless tests' user writes there too
        echo "run.sh: the integration suite under ASan + UBSan (build-asan/husk)"
        if HUSK_BIN=$PWD/build-asan/husk HUSK_SANITIZER_LOG=$sanlog \
           HUSK_AGENT=$PWD/$BUILD/husk-agent HUSK_SKIP_GUEST=1 \
           ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:log_path=$sanlog/asan" \
           UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1" \
           "$PYTHON" -m pytest tests/integration -q -p no:cacheprovider \
               --ignore=tests/integration/test_unit.py \
               --ignore=tests/integration/test_crash_safety.py "$@"; then
            rm -rf "$sanlog"
        else
            echo "run.sh: integration suite under ASan/UBSan FAILED (reports: $sanlog)" >&2
            status=1
        fi
    else
        echo "run.sh: building husk with ASan/UBSan FAILED" >&2
        status=1
    fi
fi

"$PYTHON" -m pytest tests/integration tests/engines -q -p no:cacheprovider "$@" || status=1
exit $status

#!/usr/bin/env bash
# Builds husk and runs every test: each C unit-test binary (build/tests/test_*),
# then the pytest integration suite, which also runs every unit binary as one
# test each, so pytest's summary is the final line and counts everything.
# Exit status is non-zero if anything failed.  Run from anywhere.
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
for t in "${units[@]}"; do
    if ! "$t"; then
        echo "run.sh: unit test $t FAILED" >&2
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

"$PYTHON" -m pytest tests/integration tests/engines -q -p no:cacheprovider "$@" || status=1
exit $status

#!/usr/bin/env bash
# Builds husk's libFuzzer targets (tests/fuzz/fuzz_*.c) into build/fuzz/
# with clang, ASan and UBSan, and runs each for FUZZ_SECONDS on a copy of
# its seed corpus (tests/fuzz/corpus/<name>/ is never written).
#
#   FUZZ_SECONDS=30   time per target
#   FUZZ_JOBS=nproc   targets run at once
#   FUZZ_TARGETS="config state"   a subset (default: every fuzz_*.c)
#
# Any crash, leak, timeout or sanitizer report fails the target; its input
# is kept under tests/fuzz/crashes/<name>/ (not committed). One summary
# line per target, then "fuzz: N passed, M failed". Exits non-zero when
# anything failed.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
FUZZ_DIR=tests/fuzz
OUT=${FUZZ_BUILD:-build/fuzz}
SECONDS_PER=${FUZZ_SECONDS:-30}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
CC=${FUZZ_CC:-clang}

# The husk sources and pkg-config packages each target needs.
declare -A SRCS=(
    [config]="spec/parse.c spec/parse_linux.c spec/parse_process.c spec/parse_util.c base/error.c"
    [process]="spec/parse.c spec/parse_linux.c spec/parse_process.c spec/parse_util.c base/error.c"
    [state]="spec/state.c base/utc.c base/error.c"
    [image]="image/layout.c image/digest.c image/spec.c image/user.c base/error.c"
    [mount_options]="rootfs/mount_options.c base/error.c"
)
declare -A PKGS=(
    [config]="json-c" [process]="json-c" [state]="json-c"
    [image]="json-c nettle" [mount_options]=""
)

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -ra TARGETS <<<"$FUZZ_TARGETS"
else
    TARGETS=()
    for f in "$FUZZ_DIR"/fuzz_*.c; do
        n=${f##*/fuzz_}
        TARGETS+=("${n%.c}")
    done
fi

if ! command -v "$CC" >/dev/null; then
    echo "fuzz: $CC not found (bash tests/install-deps.sh installs clang and libclang-rt-14-dev)"
    echo "fuzz: 0 passed, ${#TARGETS[@]} failed"
    exit 1
fi

# shellcheck disable=SC2054  # -fsanitize takes a comma list
CFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE)

TMP=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/husk-fuzz.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"

# Builds one target; 0 on success (the log is in $TMP/<name>.build).
build() {
    local name=$1
    local -a pkgs=() srcs=() pc_cflags=() pc_libs=()
    read -ra pkgs <<<"${PKGS[$name]-}"
    read -ra srcs <<<"${SRCS[$name]}"
    if [ ${#pkgs[@]} -gt 0 ]; then
        read -ra pc_cflags <<<"$(pkg-config --cflags "${pkgs[@]}")" || return 1
        read -ra pc_libs <<<"$(pkg-config --libs "${pkgs[@]}")" || return 1
    fi
    "$CC" "${CFLAGS[@]}" "${pc_cflags[@]}" -o "$OUT/fuzz_$name" \
        "$FUZZ_DIR/fuzz_$name.c" "${srcs[@]}" "${pc_libs[@]}"
}

# Runs one built target; writes its summary line to $TMP/<name>.result.
run_one() {
    local name=$1 log=$TMP/$1.log corpus=$TMP/corpus-$1 art=$TMP/artifacts-$1/
    mkdir -p "$corpus" "$art" "$TMP/tmp-$name"
    cp -r "$FUZZ_DIR/corpus/$name/." "$corpus/" 2>/dev/null || true
    local rc=0
    TMPDIR=$TMP/tmp-$name ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$OUT/fuzz_$name" -max_total_time="$SECONDS_PER" -rss_limit_mb=1024 -timeout=25 \
        -error_exitcode=1 -print_final_stats=1 -artifact_prefix="$art" "$corpus" \
        >"$log" 2>&1 || rc=$?

    local execs rate cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
    # A sanitizer report that somehow did not stop the run still fails it.
    if [ $rc -eq 0 ] && grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error: )' "$log"; then
        rc=1
    fi
    if [ $rc -eq 0 ]; then
        echo "fuzz: $name ok: ${execs:-?} execs (${rate:-?}/s), ${cov:-no coverage line}" \
            >"$TMP/$name.result"
        return
    fi
    local why saved=""
    why=$(grep -m1 -E 'ERROR: |runtime error: |ALARM: |out-of-memory|deadly signal' "$log" \
          | sed 's/^==[0-9]*== *//')
    if compgen -G "$art*" >/dev/null; then
        mkdir -p "$FUZZ_DIR/crashes/$name"
        cp "$art"* "$FUZZ_DIR/crashes/$name/"
        cp "$log" "$FUZZ_DIR/crashes/$name/$name.log"
        saved=" (inputs and log in $FUZZ_DIR/crashes/$name/)"
    else
        mkdir -p "$FUZZ_DIR/crashes/$name"
        cp "$log" "$FUZZ_DIR/crashes/$name/$name.log"
        saved=" (log in $FUZZ_DIR/crashes/$name/$name.log)"
    fi
    echo "fuzz: $name FAILED (exit $rc): ${why:-see log}$saved" >"$TMP/$name.result"
}

passed=0
failed=0
runnable=()
for name in "${TARGETS[@]}"; do
    if [ ! -f "$FUZZ_DIR/fuzz_$name.c" ] || [ -z "${SRCS[$name]+x}" ]; then
        echo "fuzz: $name FAILED: no such target (or no sources listed in run.sh)"
        failed=$((failed + 1))
    elif ! build "$name" >"$TMP/$name.build" 2>&1; then
        echo "fuzz: $name FAILED to build:"
        sed 's/^/    /' "$TMP/$name.build" | head -20
        failed=$((failed + 1))
    else
        runnable+=("$name")
    fi
done

running=0
for name in "${runnable[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$name" &
    running=$((running + 1))
done
wait

for name in "${runnable[@]}"; do
    if [ -f "$TMP/$name.result" ]; then
        cat "$TMP/$name.result"
        if grep -q ' ok: ' "$TMP/$name.result"; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    else
        echo "fuzz: $name FAILED: the runner lost its result"
        failed=$((failed + 1))
    fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

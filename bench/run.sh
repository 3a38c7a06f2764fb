#!/bin/bash
# Entry point of `make bench`: husk, crun, runc and the floor program in one
# interleaved run.  Needs root.  Knobs: see bench/bench.py (BENCH_N=20 for a
# quick check).  Output: bench/results/latest.{md,png}, raw data in
# bench/results/raw/ (git-ignored).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
results="$here/results"
raw="$results/raw"
bin="$raw/bin"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (namespaces, cgroups, mounts)" >&2
	exit 1
fi

bash "$here/install-deps.sh"

# Static if the static libc is there: fewer page faults and no dynamic
# linking in the timed span of spawn, and a floor that is a true floor.
mkdir -p "$bin"
for prog in spawn floor; do
	cc -O2 -Wall -Wextra -static -o "$bin/$prog" "$here/$prog.c" 2>/dev/null ||
		cc -O2 -Wall -Wextra -o "$bin/$prog" "$here/$prog.c"
done

work=$(mktemp -d /tmp/husk-bench.XXXXXX)

# Also on failure and Ctrl-C: bench.py deletes the containers itself; this
# is the last net for cgroups and the tmp dir if it died hard.  The mounts
# bench.py makes live in its private mount namespace and vanish with it.
cleanup() {
	local d
	for d in $(find /sys/fs/cgroup/*/husk-bench -depth -type d 2>/dev/null); do
		rmdir "$d" 2>/dev/null || echo "bench: could not remove $d" >&2
	done
	if grep -qF " $work" /proc/self/mountinfo; then
		echo "bench: $work still has mounts; left in place" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
# bench.py handles the signal itself (finishes the command, cleans up).
trap ':' INT TERM HUP

# One private mount namespace for the whole driver, so every runtime and the
# floor see the same thing: an empty tmpfs over the cgroup2 mount that crun
# 1.8.1 refuses to work with on a hybrid host (1m: a tiny one gives ENOSPC).
# Debian's python3 explicitly: the first one on PATH may be a pyenv shim.
export BENCH_WORK="$work" BENCH_BIN="$bin" BENCH_RESULTS="$results" BENCH_REPO="$repo"
unshare -m --propagation private -- /bin/sh -c '
	if [ -d /sys/fs/cgroup/unified ]; then
		mount -t tmpfs -o size=1m husk-bench /sys/fs/cgroup/unified || exit 1
	fi
	exec /usr/bin/python3 "$1"
' sh "$here/bench.py"

#!/bin/bash
# Entry point of `make bench-vm`: the same bundle as a container and as a
# micro-VM, side by side (bench/vm.py says what is measured).  Needs root,
# qemu-system-x86_64 and a kernel under /boot.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-vm: needs root" >&2
	exit 1
fi
command -v qemu-system-x86_64 >/dev/null || { echo "bench-vm: qemu-system-x86_64 missing" >&2; exit 1; }

work=$(mktemp -d /tmp/husk-bench-vm.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
cc -O2 -Wall -Wextra -Werror -static -o "$work/vmload" "$here/vmload.c"
BENCH_WORK="$work" BENCH_VMLOAD="$work/vmload" /usr/bin/python3 "$here/vm.py"

#!/bin/bash
# Installs what `make bench` needs on Debian 12 when it is missing: the two
# peer runtimes, the busybox-static rootfs source, a static libc for the floor
# program, gnuplot for the chart and valgrind for instruction counts.
# Safe to run again: packages already present are left alone.
set -euo pipefail

# package  command-or-file that proves it is installed
wanted=(
	"runc               /usr/sbin/runc"
	"crun               /usr/bin/crun"
	"busybox-static     /bin/busybox"
	"gnuplot-nox        /usr/bin/gnuplot"
	"valgrind           /usr/bin/valgrind"
	"gcc                /usr/bin/cc"
	"libc6-dev          /usr/lib/x86_64-linux-gnu/libc.a"
	"util-linux         /usr/bin/unshare"
	"python3            /usr/bin/python3"
)

missing=()
for w in "${wanted[@]}"; do
	read -r pkg path <<<"$w"
	[ -e "$path" ] || missing+=("$pkg")
done

# busybox (dynamic) and busybox-static both ship /bin/busybox; only the static
# one works inside a rootfs that has no libc, so ask for it explicitly.
if [ -e /bin/busybox ] && ! dpkg -s busybox-static >/dev/null 2>&1; then
	missing+=(busybox-static)
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "bench deps: all present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "bench deps: missing ${missing[*]}; run as root to install" >&2
	exit 1
fi

echo "bench deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs husk's build and test dependencies on Debian 12 when any is
# missing.  Idempotent; needs no TTY.  Runs `apt-get update` at most once.
set -euo pipefail

PKGS=(build-essential pkg-config libseccomp-dev libcap-dev libmnl-dev libjson-c-dev
      libsystemd-dev libarchive-dev nettle-dev liblzma-dev clang libclang-rt-14-dev
      busybox-static python3-pytest runc crun iproute2 util-linux cppcheck uidmap valgrind
      containerd podman conmon python3-grpcio python3-protobuf
      qemu-system-x86 linux-image-amd64 systemd dbus)   # the last two lines: tests/engines,
                                                        # the micro-VM and the cgroup v2 test guest

missing=()
for p in "${PKGS[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PKGS[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q </dev/null
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

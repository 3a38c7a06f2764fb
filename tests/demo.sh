#!/usr/bin/env bash
# Demo: builds a busybox-static bundle in a temp dir, generates its config with
# `husk spec`, runs it with `husk run`, then removes everything.
# Usage: bash tests/demo.sh   (or `make demo`).  HUSK_BIN overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

bash tests/install-deps.sh
[ -n "${HUSK_BIN:-}" ] || make -s all
HUSK=$(readlink -f "${HUSK_BIN:-build/husk}")

ID="demo-$$"
WORK=$(mktemp -d /tmp/husk-demo.XXXXXX)
chmod 755 "$WORK"
ROOT="$WORK/state"
BUNDLE="$WORK/bundle"

cleanup() {
    "$HUSK" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1 || true
    for d in /sys/fs/cgroup/*/husk-demo /sys/fs/cgroup/husk-demo; do
        [ -d "$d" ] || continue
        rmdir "$d/$ID" 2>/dev/null || true
        rmdir "$d" 2>/dev/null || true
    done
    if grep -q "$WORK" /proc/self/mountinfo; then
        echo "demo: mounts remain under $WORK; leaving it in place" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

mkdir -p "$BUNDLE/rootfs"/{bin,proc,sys,dev,tmp,etc,root}
cp /bin/busybox "$BUNDLE/rootfs/bin/busybox"
chroot "$BUNDLE/rootfs" /bin/busybox --install -s /bin
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$BUNDLE/rootfs/etc/passwd"
printf 'root:x:0:\n' > "$BUNDLE/rootfs/etc/group"

"$HUSK" spec --bundle "$BUNDLE"
/usr/bin/python3 - "$BUNDLE/config.json" "$ID" <<'PY'
import json, sys
path, cid = sys.argv[1], sys.argv[2]
with open(path) as f:
    cfg = json.load(f)
cfg["process"]["terminal"] = False
cfg["process"]["args"] = ["sh", "-c", "echo hello from husk; uname -a; id"]
cfg["linux"]["cgroupsPath"] = "/husk-demo/" + cid
with open(path, "w") as f:
    json.dump(cfg, f, indent=2)
PY

echo "demo: $HUSK --root $ROOT run --bundle $BUNDLE $ID"
"$HUSK" --root "$ROOT" run --bundle "$BUNDLE" "$ID"

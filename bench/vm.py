#!/usr/bin/python3
"""Driver of `make bench-vm`: what a VM boundary costs next to a container.

The same busybox-static bundle (plus bench/vmload, static) runs as a plain
husk container and as a husk micro-VM (`--vm`).  Measured, in one run:

  start     `run` of /bin/true to its exit status, wall time (median)
  floor     a bare QEMU boot of the same kernel and initramfs whose agent
            powers off at once (kernel argument husk.floor=1): the command
            line is the one husk gave QEMU, read from /proc, minus husk's
            channel.  husk's own share of `run --vm` = start - floor.
  memory    PSS (smaps_rollup) of every process the instance costs while
            it runs `sleep`: the container's processes, or the monitor +
            QEMU (guest RAM is inside QEMU's PSS, as far as it was touched)
  getpid    ns per raw getpid() syscall, timed inside
  file I/O  MiB/s writing (with fsync) then reading a file on the rootfs,
            timed inside (the VM reaches the rootfs over virtio-9p)
  kernel    `uname -r` inside: the host's (shared) or the guest's own

Knobs: BENCH_VM_N (VM samples, default 10: each is seconds under TCG),
BENCH_N (container samples, default 20), BENCH_IO_MIB (default 64),
HUSK (default build/husk).  Output: a Markdown table on stdout and in
bench/results/vm.md.
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HUSK = os.environ.get("HUSK", str(REPO / "build" / "husk"))
VMLOAD = Path(os.environ["BENCH_VMLOAD"])
WORK = Path(os.environ["BENCH_WORK"])
RESULTS = REPO / "bench" / "results"
N_VM = int(os.environ.get("BENCH_VM_N", 10))
N_CT = int(os.environ.get("BENCH_N", 20))
IO_MIB = int(os.environ.get("BENCH_IO_MIB", 64))
TIMEOUT = 300
ROOT = WORK / "state"
GETPID_LOOPS = 2_000_000


def husk(*args, check=True, timeout=TIMEOUT, detach=False):
    """detach: a `create`, whose container keeps the stdio it is given, so
    pipes to it would never reach EOF."""
    cmd = [HUSK, "--root", str(ROOT), *args]
    out = subprocess.DEVNULL if detach else subprocess.PIPE
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {(p.stderr or '').strip()}")
    return p


def make_bundle():
    bundle = WORK / "bundle"
    rootfs = bundle / "rootfs"
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    for app in ("sh", "true", "sleep", "uname", "cat"):
        (rootfs / "bin" / app).symlink_to("busybox")
    shutil.copy(VMLOAD, rootfs / "bin" / "vmload")
    husk("spec", "--bundle", str(bundle))
    return bundle


def set_args(bundle, args):
    cfg_path = bundle / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["process"]["args"] = args
    cfg["process"]["terminal"] = False
    cfg["root"]["readonly"] = False
    cfg_path.write_text(json.dumps(cfg, indent=2))


def run(bundle, cid, vm):
    """Runs the bundle to its end; returns (seconds, stdout)."""
    extra = ["--vm"] if vm else []
    t0 = time.monotonic()
    p = husk("run", *extra, "--bundle", str(bundle), cid)
    return time.monotonic() - t0, p.stdout


def median_ms(samples):
    return statistics.median(samples) * 1000


def time_floor(argv):
    t0 = time.monotonic()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=TIMEOUT, check=True)
    return time.monotonic() - t0


def measure_start(bundle, argv):
    """Interleaved: container runs, a `run --vm`, a bare boot (the floor)."""
    set_args(bundle, ["/bin/true"])
    floor = floor_argv(argv) if argv else None
    ct, vm, fl = [], [], []
    per_vm = max(1, N_CT // N_VM)
    for i in range(N_VM):
        ct += [run(bundle, f"bvm-start-{i}-{j}", False)[0] for j in range(per_vm)]
        vm.append(run(bundle, f"bvm-start-vm-{i}", True)[0])
        if floor:
            fl.append(time_floor(floor))
    return {False: median_ms(ct), True: median_ms(vm)}, (median_ms(fl) if fl else None)


def pss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def qemu_cmdline(pids):
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        if argv and os.path.basename(argv[0]).startswith(b"qemu-system"):
            return [a.decode() for a in argv]
    return None


def measure_memory(bundle):
    """PSS of a running instance; also returns the VM's QEMU command line."""
    set_args(bundle, ["/bin/sleep", "1000"])
    res, argv = {}, None
    for vm in (False, True):
        cid = f"bvm-mem-{int(vm)}"
        husk("create", *(["--vm"] if vm else []), "--bundle", str(bundle), cid, detach=True)
        try:
            husk("start", cid)
            # let the guest settle: sleep has started once `ps` sees it running
            time.sleep(3 if vm else 0.5)
            pids = json.loads(husk("ps", "--format", "json", cid).stdout or "[]")
            res[vm] = sum(pss_kib(p) for p in pids) / 1024
            if vm:
                argv = qemu_cmdline(pids)
        finally:
            husk("delete", "--force", cid, check=False)
    return res, argv


def floor_argv(argv):
    """husk's QEMU command line without husk's channel, agent told to stop."""
    out, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if a in ("-chardev", "-device") and ("ctl" in nxt or "virtio-serial" in nxt):
            skip = True
            continue
        if a == "-serial":
            out += ["-serial", "null"]
            skip = True
            continue
        if a == "-append":
            out += ["-append", nxt + " husk.floor=1"]
            skip = True
            continue
        out.append(a)
    return out


def parse_kv(text):
    return {k: float(v) for k, v in (l.split() for l in text.splitlines() if l.count(" ") == 1)
            if k in ("getpid_ns", "write_mibs", "read_mibs")}


def measure_inside(bundle):
    res = {}
    for vm in (False, True):
        set_args(bundle, ["/bin/vmload", "getpid", str(GETPID_LOOPS)])
        r = parse_kv(run(bundle, f"bvm-getpid-{int(vm)}", vm)[1])
        set_args(bundle, ["/bin/vmload", "io", "/vmload.dat", str(IO_MIB)])
        r.update(parse_kv(run(bundle, f"bvm-io-{int(vm)}", vm)[1]))
        set_args(bundle, ["/bin/uname", "-r"])
        r["kernel"] = run(bundle, f"bvm-uname-{int(vm)}", vm)[1].strip()
        res[vm] = r
    return res


def fmt(v, unit=""):
    return "n/a" if v is None else f"{v:.1f}{unit}"


def ratio(a, b):
    return "n/a" if not a or not b else f"{a / b:.1f}x"


def table(start, floor, mem, inside, accel):
    host = os.uname().release
    ct, vm = inside[False], inside[True]
    share = None if floor is None else (start[True] - floor) / start[True] * 100
    rows = [
        ("`run` /bin/true to exit status, median (ms)", start[False], start[True]),
        ("bare QEMU boot + power-off, same kernel and initramfs (ms)", None, floor),
        ("husk's own share of `run --vm` (%)", None, share),
        ("PSS of a running instance (MiB)", mem[False], mem[True]),
        ("getpid() syscall (ns)", ct.get("getpid_ns"), vm.get("getpid_ns")),
        (f"write {IO_MIB} MiB + fsync on the rootfs (MiB/s)", ct.get("write_mibs"), vm.get("write_mibs")),
        (f"read {IO_MIB} MiB from the rootfs (MiB/s)", ct.get("read_mibs"), vm.get("read_mibs")),
    ]
    lines = [f"| same bundle | container | micro-VM ({accel}) | VM/container |",
             "|---|---:|---:|---:|"]
    for label, c, v in rows:
        lines.append(f"| {label} | {fmt(c)} | {fmt(v)} | {ratio(v, c)} |")
    boundary = (f"shared: {ct.get('kernel')} (host {host})",
                f"own kernel: {vm.get('kernel')}")
    lines.append(f"| kernel inside (isolation boundary) | {boundary[0]} | {boundary[1]} | |")
    return "\n".join(lines)


def accel_name(argv):
    """What husk chose, as it told QEMU."""
    if argv and "-accel" in argv[:-1]:
        return argv[argv.index("-accel") + 1].split(",")[0].upper()
    return "?"


def cleanup():
    if not ROOT.exists():
        return
    for cid in os.listdir(ROOT):
        if not cid.startswith("."):
            husk("delete", "--force", cid, check=False)


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    bundle = make_bundle()
    try:
        mem, argv = measure_memory(bundle)
        start, floor = measure_start(bundle, argv)
        inside = measure_inside(bundle)
    finally:
        cleanup()
    md = table(start, floor, mem, inside, accel_name(argv))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vm.md").write_text(
        f"<!-- made by `make bench-vm` on {when}; {os.cpu_count()} CPUs -->\n{md}\n")
    print(md)


if __name__ == "__main__":
    main()

"""Turns a finished bench.Bench into results/latest.md, latest.png, the raw
JSON, the table on stdout and the "Latest results" part of README.md."""

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ["floor", "floor+cg", "husk", "crun", "runc"]
RATIOS = [("husk/crun", "crun"), ("husk/runc", "runc"), ("husk/floor+cg", "floor+cg")]
OCI_ONLY = {"create", "start", "delete", "exec", "exec_cold", "state", "par"}
README_BEGIN = "<!-- latest:begin -->"
README_END = "<!-- latest:end -->"



def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def rows(par):
    """(label, metric, statistic, unit) of every table row."""
    return [
        ("`run` /bin/true, median", "run", "median", "ms"),
        ("`run` /bin/true, p95", "run", "p95", "ms"),
        ("`run` /bin/true, cold, median", "run_cold", "median", "ms"),
        ("`create`, median", "create", "median", "ms"),
        ("`start`, median", "start", "median", "ms"),
        ("`delete`, median", "delete", "median", "ms"),
        ("`exec` /bin/true, median", "exec", "median", "ms"),
        ("`exec` /bin/true, cold, median", "exec_cold", "median", "ms"),
        ("`state`, median", "state", "median", "ms"),
        (f"{par} parallel `create`, wall", "par", "median", "ms"),
        ("peak RSS, `create`", "create", "rssmax", "MiB"),
        ("peak RSS, `run`", "run", "rssmax", "MiB"),
        ("binary size, stripped", "size", "value", "KiB"),
        ("shared libraries linked", "libs", "value", ""),
        ("instructions per `run`", "instr", "value", "M"),
    ]


def stat(b, metric, how, rt):
    """The number for one cell, or None."""
    key = (metric, rt)
    if how == "value":
        v = b.values.get(key)
        if v is None:
            return None
        if metric == "size":
            return v / 1024
        if metric == "instr":
            return v / 1e6
        return v
    if how == "rssmax":
        r = b.rss.get(key)
        return max(r) / 1024 if r else None
    s = b.samples.get(key)
    if not s:
        return None
    ms = [u / 1000 for u in s]
    return statistics.median(ms) if how == "median" else pct(ms, 95)


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "" or unit == "KiB":
        return f"{v:.0f}"
    if unit == "M" and v < 1:
        return f"{v:.3f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def cell(b, metric, how, unit, rt):
    if rt.startswith("floor") and metric in OCI_ONLY:
        return "—", None
    v = stat(b, metric, how, rt)
    text = fmt(v, unit)
    if v is not None and b.failures.get((metric, rt)):
        text += "*"
    return text, v


def table(b):
    head = ["metric"] + COLUMNS + [r for r, _ in RATIOS]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for label, metric, how, unit in rows(b.par):
        cells, nums = [], {}
        for rt in COLUMNS:
            text, v = cell(b, metric, how, unit, rt)
            cells.append(text)
            nums[rt] = v
        for _, other in RATIOS:
            h, o = nums.get("husk"), nums.get(other)
            cells.append(f"{h / o:.2f}" if h is not None and o else "n/a")
        name = f"{label} ({unit})" if unit else label
        lines.append("| " + " | ".join([name] + cells) + " |")
    return "\n".join(lines)


def goals(b):
    def med(metric, rt):
        return stat(b, metric, "median", rt)

    husk_run = med("run", "husk")
    rss = [stat(b, m, "rssmax", "husk") for m in ("create", "run")]
    checks = [
        ("husk `run` ≤ 1.5× floor with cgroups", husk_run, med("run", "floor+cg"), 1.5),
        ("the same, cold", med("run_cold", "husk"), med("run_cold", "floor+cg"), 1.5),
        ("husk `run` ≤ 0.6× crun", husk_run, med("run", "crun"), 0.6),
        ("husk `exec` faster than crun", med("exec", "husk"), med("exec", "crun"), 1.0),
        ("the same, cold", med("exec_cold", "husk"), med("exec_cold", "crun"), 1.0),
        ("husk `state` faster than crun", med("state", "husk"), med("state", "crun"), 1.0),
    ]
    out = []
    for text, h, ref, factor in checks:
        if h is None or ref is None:
            out.append(f"- {text}: not measured")
        else:
            ok = h <= factor * ref if factor != 1.0 else h < ref
            out.append(f"- {text}: {h / ref:.2f}× — {'met' if ok else 'NOT met'}")
    if None in rss:
        out.append("- husk peak RSS < 3 MiB: not measured")
    else:
        ok = max(rss) < 3
        out.append(f"- husk peak RSS < 3 MiB: {max(rss):.2f} MiB — {'met' if ok else 'NOT met'}")
    return "\n".join(out)


def unavailable(b):
    out = []
    for rt in b.runtimes:
        if rt.reason:
            out.append(f"- {rt.name}: n/a — {rt.reason}")
            continue
        for (metric, name), why in sorted(b.na.items()):
            if name == rt.name:
                out.append(f"- {rt.name} {metric}: n/a — {why}")
    for (metric, name), count in sorted(b.failures.items()):
        got = len(b.samples.get((metric, name), []))
        if got:
            why = b.last_reason.get((metric, name), "")
            out.append(f"- {name} {metric}: {count} of {count + got} samples failed "
                       f"(marked *), last: {why}")
    return "\n".join(out) or "- none"


def environment(b):
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vers = ", ".join(f"{rt.name} {rt.version}" for rt in b.runtimes
                     if rt.kind == "oci" and rt.usable)
    load_after = Path("/proc/loadavg").read_text().split()[0]
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; Linux "
            f"{platform.release()}; {os.cpu_count()} CPUs ({cpu}); "
            f"load {b.load_before} before, {load_after} after; "
            f"{vers or 'no runtime'}; N={b.n} sequential samples per metric, "
            f"{b.cold} cold `run`s, {b.par_rounds} rounds of {b.par} parallel creates")


def markdown(b, tab):
    notes = "\n".join(f"- {n}" for n in b.notes)
    return f"""# husk benchmark: latest run

{environment(b)}.

{tab}

Times are wall-clock medians of N interleaved samples (fork to wait4 of the
runtime command, measured by bench/spawn.c). "floor" is bench/floor.c (clone
into the same five namespaces, mount proc, pivot_root, execve /bin/true);
"floor+cg" also makes, joins and removes the nine v1 cgroups. Ratios are
husk's value divided by the other column's. Peak RSS is wait4's ru_maxrss:
the largest single process among the runtime and the children it reaped
itself. "cold": each sample after 0.25 s idle, so that moving a process
into a cgroup by pid is the slow first one (README, caveats). "—": does not apply; "n/a": missing or failed (below); "*": some
samples failed (below). Every runtime ran in the same private mount
namespace with an empty tmpfs over /sys/fs/cgroup/unified.

![run latency](latest.png)

## Goals

{goals(b)}

## Not measured or failed

{unavailable(b)}

## Notes

{notes}
"""


def chart(b, results):
    """Two panels: run median/p95 for everything, op medians for runtimes."""
    raw = results / "raw"
    run_dat, ops_dat = raw / "chart-run.dat", raw / "chart-ops.dat"

    def num(v):
        return "?" if v is None else f"{v:.3f}"

    with open(run_dat, "w") as f:
        f.write("runtime median p95 cold note\n")
        for rt in COLUMNS:
            med = stat(b, "run", "median", rt)
            note = '""' if med is not None else '"n/a"'
            f.write(f"{rt} {num(med)} {num(stat(b, 'run', 'p95', rt))} "
                    f"{num(stat(b, 'run_cold', 'median', rt))} {note}\n")
    oci = ["husk", "crun", "runc"]
    with open(ops_dat, "w") as f:
        f.write("op " + " ".join(oci) + "\n")
        for op in ["create", "start", "delete", "exec", "state"]:
            f.write(op + " " + " ".join(num(stat(b, op, "median", rt)) for rt in oci) + "\n")
    png = results / "latest.png"
    p = subprocess.run(["gnuplot", "-e", f"rundat='{run_dat}'; opsdat='{ops_dat}'; "
                        f"out='{png}'",
                        str(HERE / "plot.gp")], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"warning: gnuplot failed: {p.stderr.strip()[:300]}", file=sys.stderr)


def update_readme(tab_md):
    readme = HERE / "README.md"
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        return
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{tab_md}\n{README_END}{tail}")


def write_report(b, results):
    raw = results / "raw"
    data = {
        "environment": environment(b),
        "samples_us": {f"{m}/{r}": v for (m, r), v in b.samples.items()},
        "maxrss_kb": {f"{m}/{r}": v for (m, r), v in b.rss.items()},
        "values": {f"{m}/{r}": v for (m, r), v in b.values.items()},
        "na": {f"{m}/{r}": v for (m, r), v in b.na.items()},
        "failures": {f"{m}/{r}": v for (m, r), v in b.failures.items()},
        "runtimes": {rt.name: {"path": str(rt.path), "version": rt.version,
                               "reason": rt.reason} for rt in b.runtimes},
    }
    (raw / "results.json").write_text(json.dumps(data, indent=1))
    tab = table(b)
    md = markdown(b, tab)
    (results / "latest.md").write_text(md)
    chart(b, results)
    # README carries the table, the goals and the chart; the notes stay in
    # latest.md.
    update_readme(f"{environment(b)}.\n\n{tab}\n\n{goals(b)}\n\n"
                  "![run latency](results/latest.png)\n\n"
                  "Details, failures and notes: [results/latest.md](results/latest.md).")
    print()
    print(tab)
    print()
    print(goals(b))
    print()
    print(f"Report: {results / 'latest.md'}, chart: {results / 'latest.png'}")

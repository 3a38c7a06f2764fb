"""Small shared helpers for the integration tests."""
import subprocess
import time


def cgroup_procs(cgroups_path):
    """PIDs in the container's cgroup (v1 pids controller, or unified v2)."""
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"):
        path = base + cgroups_path + "/cgroup.procs"
        try:
            with open(path) as f:
                return [int(x) for x in f.read().split()]
        except FileNotFoundError:
            continue
    return []


def pid_gone(pid):
    """True when pid no longer exists (or is a zombie awaiting its reaper)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_for(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def status_field(text, name):
    """The value of `Name:` in a /proc/<pid>/status dump."""
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def sh(*argv, check=True):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check,
                          timeout=30)

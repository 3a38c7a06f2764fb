"""Shared bits of the test_cve_*.py regression tests: host-side markers the
container must not reach or change, and a runtime call that leaks chosen
descriptors into the runtime the way a careless caller would."""
import os
import stat
import subprocess

from . import sanitizer
from .runtime import _read


def host_marker(tmpdir, name="marker", content=None, mode=0o600):
    """A file on the host, outside every rootfs; returns (path, content)."""
    path = os.path.join(tmpdir, name)
    content = content or "host-only-%s-%s\n" % (name, os.urandom(6).hex())
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, mode)
    return path, content


def file_identity(path):
    """What must not change: type, mode, owner, size, content."""
    st = os.lstat(path)
    data = _read(path) if stat.S_ISREG(st.st_mode) else None
    return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
            st.st_size, st.st_rdev, data)


def tree_identity(top):
    """file_identity() of everything below top, by relative path."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, top)] = file_identity(p)
    return out


def run_leaking(runtime, argv, cid=None, dir_fds=(), dir_path=None, pass_fd=None,
                timeout=30):
    """Run runtime argv (a list after the binary and --root) with fds in
    `dir_fds` open on the host directory `dir_path` (not close-on-exec), and
    `pass_fd` (if given) as fd 3.  Output goes to files as Runtime.raw does."""
    redirs = []
    env = dict(os.environ)
    if pass_fd is not None:
        redirs.append("3>&%d" % int(pass_fd))
    if dir_fds:
        env["HUSK_T_DIR"] = dir_path
        redirs += ['%d<"$HUSK_T_DIR"' % n for n in dir_fds]
    # bash (dash takes single-digit fds only) opens the fds (O_RDONLY on a directory works) and execs the runtime
    script = 'exec "$@" %s' % " ".join(redirs)
    if cid:
        runtime.track(cid)
    out, err = runtime._paths(cid)
    full = ["/bin/bash", "-c", script, "bash"] + runtime.argv(*argv)
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env,
                             pass_fds=(pass_fd,) if pass_fd is not None else (),
                             start_new_session=True)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
    r = subprocess.CompletedProcess(full, p.returncode, _read(out), _read(err))
    sanitizer.scan(r.stderr, " ".join(full))
    return r


def fd_list(text, tag="FDS:"):
    """The numbers after `tag` on the line that starts with it."""
    for line in text.splitlines():
        if line.startswith(tag):
            return sorted(int(x) for x in line[len(tag):].split())
    raise AssertionError("no %r line in %r" % (tag, text))

"""Thin wrapper around the runtime binary under test (husk, or runc for
validation).  Every call goes `BIN --root <private dir> [global flags] verb ...`
and returns a subprocess.CompletedProcess with text stdout/stderr.

Output goes through files rather than pipes: a created or detached container
inherits the runtime's stdio, and a pipe would keep the caller waiting for EOF
until the container exits.  A container's own output is kept in
`<logdir>/<id>.out` / `.err` and can be read with `output(id)`.
"""
import json
import os
import signal
import subprocess
import time

from . import sanitizer

DEFAULT_TIMEOUT = 30


class Runtime:
    def __init__(self, binary, root, logdir, register=None, global_args=()):
        self.binary = binary
        self.global_args = list(global_args)   # before every call's own
        self.root = root
        self.logdir = logdir
        self.ids = []          # every container id this helper touched
        self.popens = []       # background runtime processes we started
        self._register = register
        self._seq = 0

    # -- plumbing -----------------------------------------------------------
    def argv(self, *args, global_args=(), root=True):
        argv = [self.binary]
        if root:
            argv += ["--root", self.root]
        argv += self.global_args + list(global_args)
        argv += [str(a) for a in args]
        return argv

    def _paths(self, cid):
        name = cid if cid else "cmd-%d" % self._next()
        return (os.path.join(self.logdir, name + ".out"),
                os.path.join(self.logdir, name + ".err"))

    def _next(self):
        self._seq += 1
        return self._seq

    def raw(self, argv, timeout=DEFAULT_TIMEOUT, input=None, out=None, err=None,
            env=None, cwd=None):
        """Run argv with stdout/stderr sent to files; returns CompletedProcess."""
        if out is None or err is None:
            o, e = self._paths(None)
            out = out or o
            err = err or e
        with open(out, "wb") as fo, open(err, "wb") as fe:
            stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
            p = subprocess.Popen(argv, stdin=stdin, stdout=fo, stderr=fe,
                                 env=env, cwd=cwd, start_new_session=True)
            try:
                if input is not None:
                    p.communicate(input.encode() if isinstance(input, str) else input,
                                  timeout=timeout)
                else:
                    p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise
        r = subprocess.CompletedProcess(argv, p.returncode, _read(out), _read(err))
        sanitizer.scan(r.stderr, " ".join(argv))
        return r

    def cmd(self, *args, global_args=(), timeout=DEFAULT_TIMEOUT, input=None,
            root=True, env=None, cwd=None):
        return self.raw(self.argv(*args, global_args=global_args, root=root),
                        timeout=timeout, input=input, env=env, cwd=cwd)

    def track(self, cid):
        if cid not in self.ids:
            self.ids.append(cid)
        if self._register:
            self._register(cid)

    # -- verbs ------------------------------------------------------------
    def run(self, bundle, *extra, cid=None, detach=False, timeout=DEFAULT_TIMEOUT,
            global_args=(), save=True):
        cid = cid or bundle.id
        if save:
            bundle.save()
        self.track(cid)
        args = ["run", "--bundle", bundle.path]
        if detach:
            args.append("--detach")
        args += list(extra) + [cid]
        out, err = self._paths(cid)
        return self.raw(self.argv(*args, global_args=global_args), timeout=timeout,
                        out=out, err=err)

    def run_bg(self, bundle, *extra, cid=None, global_args=()):
        """Start a foreground `run` without waiting; returns the Popen."""
        cid = cid or bundle.id
        bundle.save()
        self.track(cid)
        out, err = self._paths(cid)
        argv = self.argv("run", "--bundle", bundle.path, *extra, cid,
                         global_args=global_args)
        fo, fe = open(out, "wb"), open(err, "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                             start_new_session=True)
        fo.close()
        fe.close()
        self.popens.append(p)
        return p

    def create(self, bundle, *extra, cid=None, timeout=DEFAULT_TIMEOUT,
               global_args=(), save=True):
        cid = cid or bundle.id
        if save:
            bundle.save()
        self.track(cid)
        out, err = self._paths(cid)
        return self.raw(self.argv("create", "--bundle", bundle.path, *extra, cid,
                                  global_args=global_args),
                        timeout=timeout, out=out, err=err)

    def start(self, cid, **kw):
        return self.cmd("start", cid, **kw)

    def state(self, cid, **kw):
        return self.cmd("state", cid, **kw)

    def state_json(self, cid):
        r = self.state(cid)
        assert r.returncode == 0, "state %s failed: %s" % (cid, r.stderr)
        return json.loads(r.stdout)

    def kill(self, cid, sig=None, all=False, **kw):
        args = ["kill"]
        if all:
            args.append("--all")
        args.append(cid)
        if sig is not None:
            args.append(str(sig))
        return self.cmd(*args, **kw)

    def delete(self, cid, force=False, **kw):
        args = ["delete"] + (["--force"] if force else []) + [cid]
        return self.cmd(*args, **kw)

    def exec(self, cid, *args, opts=(), **kw):
        return self.cmd("exec", *opts, cid, *args, **kw)

    def list(self, *args, **kw):
        return self.cmd("list", *args, **kw)

    def output(self, cid):
        """What the container (and the runtime) wrote to stdout / stderr."""
        out, err = self._paths(cid)
        return _read(out), _read(err)

    # -- waiting ----------------------------------------------------------
    def wait_status(self, cid, status, timeout=10):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.state(cid)
            if r.returncode == 0:
                last = json.loads(r.stdout)
                if last["status"] == status:
                    return last
            time.sleep(0.05)
        raise AssertionError("container %s never reached %r (last state %r)"
                             % (cid, status, last))

    def wait_output(self, cid, text, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out, _ = self.output(cid)
            if text in out:
                return out
            time.sleep(0.05)
        raise AssertionError("container %s never printed %r (stdout %r)"
                             % (cid, text, self.output(cid)))

    # -- teardown ---------------------------------------------------------
    def cleanup(self):
        # only what still exists: `list -q` plus the state dir's entries
        live = set()
        try:
            r = self.cmd("list", "-q", timeout=20)
            live = set(r.stdout.split()) if r.returncode == 0 else set(self.ids)
        except subprocess.TimeoutExpired:
            live = set(self.ids)
        try:
            live |= set(os.listdir(self.root))
        except OSError:
            pass
        for cid in reversed(self.ids):
            if cid not in live:
                continue
            try:
                self.delete(cid, force=True, timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for p in self.popens:
            if p.poll() is None:
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
            cid = p.args[-1]
            sanitizer.scan_file(self._paths(cid)[1], " ".join(p.args))


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""

"""process.terminal with --console-socket: the pty master arrives over
SCM_RIGHTS and carries the container's terminal I/O."""
import os

import pytest

from helpers.console import ConsoleReceiver


@pytest.fixture
def console(tmpdir_s):
    rx = ConsoleReceiver(os.path.join(tmpdir_s, "console.sock"))
    yield rx
    rx.close()


def tty_bundle(bundle, args):
    b = bundle(args)
    b.process["terminal"] = True
    return b


def test_create_start_with_console_socket(bundle, runtime, console):
    b = tty_bundle(bundle, ["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; "
                            "[ -c /dev/console ] && echo has-console; echo done-marker"])
    r = runtime.create(b, "--console-socket", console.path)
    assert r.returncode == 0, r.stderr
    console.accept()
    assert runtime.start(b.id).returncode == 0
    out = console.read_until("done-marker")
    lines = [l.strip() for l in out.splitlines()]
    assert lines[0].startswith("/dev/pts/"), out
    assert "all-ttys" in lines
    assert "has-console" in lines
    runtime.wait_status(b.id, "stopped")


def test_console_size(bundle, runtime, console):
    b = tty_bundle(bundle, ["sh", "-c", "stty size; echo done-marker"])
    b.process["consoleSize"] = {"height": 40, "width": 100}
    assert runtime.create(b, "--console-socket", console.path).returncode == 0
    console.accept()
    assert runtime.start(b.id).returncode == 0
    out = console.read_until("done-marker")
    assert out.splitlines()[0].strip() == "40 100"


def test_console_input(bundle, runtime, console):
    b = tty_bundle(bundle, ["sh", "-c", "read line; echo got:$line"])
    assert runtime.create(b, "--console-socket", console.path).returncode == 0
    console.accept()
    assert runtime.start(b.id).returncode == 0
    console.write("typed-text\n")
    out = console.read_until("got:typed-text")
    assert "got:typed-text" in out
    runtime.wait_status(b.id, "stopped")


def test_run_detach_with_console_socket(bundle, runtime, console):
    b = tty_bundle(bundle, ["sh", "-c", "echo detached-tty; sleep 1000"])
    r = runtime.run(b, "--console-socket", console.path, detach=True)
    assert r.returncode == 0, r.stderr
    console.accept()
    assert "detached-tty" in console.read_until("detached-tty")
    assert runtime.state_json(b.id)["status"] == "running"


def test_exec_with_tty(bundle, runtime, console):
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    r = runtime.exec(b.id, "sh", "-c", "tty; echo exec-done",
                     opts=("--tty", "--detach", "--console-socket", console.path))
    assert r.returncode == 0, r.stderr
    console.accept()
    out = console.read_until("exec-done")
    assert out.splitlines()[0].strip().startswith("/dev/pts/")


def test_exec_with_tty_twice(bundle, runtime, tmpdir_s):
    """Only the init's pty is bound on /dev/console: an exec's, left there
    after it exited, made the next `exec --tty` fail with EIO."""
    b = bundle(["sleep", "1000"])
    assert runtime.run(b, detach=True).returncode == 0
    for i in range(2):
        rx = ConsoleReceiver(os.path.join(tmpdir_s, "console%d.sock" % i))
        try:
            r = runtime.exec(b.id, "sh", "-c", "tty; echo exec-done",
                             opts=("--tty", "--detach", "--console-socket", rx.path))
            assert r.returncode == 0, r.stderr
            rx.accept()
            out = rx.read_until()  # until EIO: the exec'd shell is gone
            assert "exec-done" in out, out
        finally:
            rx.close()


def test_terminal_without_console_socket_fails(bundle, runtime, leaks):
    b = tty_bundle(bundle, ["true"])
    before = leaks.snapshot()
    r = runtime.create(b)
    assert r.returncode != 0
    assert "console" in r.stderr.lower() or "tty" in r.stderr.lower()
    leaks.assert_clean(before)


def test_console_socket_not_listening_fails(bundle, runtime, tmpdir_s, leaks):
    b = tty_bundle(bundle, ["true"])
    before = leaks.snapshot()
    r = runtime.create(b, "--console-socket", os.path.join(tmpdir_s, "nobody-here.sock"))
    assert r.returncode != 0
    assert "nobody-here.sock" in r.stderr
    leaks.assert_clean(before)

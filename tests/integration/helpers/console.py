"""A --console-socket receiver: an AF_UNIX stream socket that accepts one
connection from the runtime, receives the pty master over SCM_RIGHTS and
reads what the container writes to its terminal."""
import errno
import os
import select
import socket
import time


class ConsoleReceiver:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.master = None
        self.name = None

    def accept(self, timeout=10):
        """Wait for the runtime to connect and hand over the master fd."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(timeout)
            msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 4)
        assert fds, "runtime connected to the console socket but sent no fd"
        for extra in fds[1:]:
            os.close(extra)
        self.master = fds[0]
        self.name = msg.decode("utf-8", "replace")
        return self.master

    def write(self, data):
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def read_until(self, text=None, timeout=10):
        """Read from the master until `text` shows up, EOF/EIO (every slave fd
        closed: the container exited) or the timeout.  Returns what was read."""
        buf = b""
        want = text.encode() if isinstance(text, str) else text
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if want is not None and want in buf:
                break
            r, _, _ = select.select([self.master], [], [],
                                    max(0.0, deadline - time.monotonic()))
            if not r:
                break
            try:
                chunk = os.read(self.master, 4096)
            except OSError as e:
                if e.errno == errno.EIO:
                    break
                raise
            if not chunk:
                break
            buf += chunk
        return buf.decode("utf-8", "replace")

    def close(self):
        if self.master is not None:
            os.close(self.master)
            self.master = None
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

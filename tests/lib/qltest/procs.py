"""Processes and their surroundings: a private temp dir, free ports,
waiting for a condition, our binaries as children with their logs, and the
Prometheus endpoints they serve."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from qltest.report import fail


class TempDir:
    """A private directory under /tmp, removed by cleanup() unless
    QL_KEEP_TMP is set (to read the logs after a failure)."""

    def __init__(self, prefix="qltest."):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def cleanup(self):
        if not os.environ.get("QL_KEEP_TMP"):
            shutil.rmtree(self.path, ignore_errors=True)


def free_port():
    """A loopback TCP port free at the time of asking."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, fn, timeout=45, every=0.1):
    """fn()'s first true value, polled every `every` s; the test fails
    naming `what` if none comes within `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    fail("timed out after %g s waiting for %s" % (timeout, what))


def listening(port, host="127.0.0.1"):
    """True once something accepts TCP connections on host:port."""
    try:
        socket.create_connection((host, port), 0.2).close()
        return True
    except OSError:
        return False


class Daemon:
    """One of our programs as a child process, stdout and stderr appended
    to log_path.  The log stays open here and is read back through the
    same descriptor, so it is readable even if the temp dir goes away
    early.  start() may be called again after the child died (a restart
    with the same arguments); started_at is where its output begins."""

    def __init__(self, argv, log_path, env=None, start=True):
        self.argv, self.env = list(argv), env
        self.log_path = log_path
        self.name = os.path.basename(log_path).rsplit(".log", 1)[0]
        self.log = open(log_path, "a+b")
        self.proc = None
        self.starts = 0
        self.started_at = 0
        if start:
            self.start()

    def start(self):
        self.starts += 1
        self.log.flush()
        self.started_at = self.size()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL and reap."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def term(self, timeout=40):
        """SIGTERM and wait; the exit status, or None if it had to be
        killed after `timeout` s."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def wait(self, timeout=60):
        """The exit status; the test fails (log tail shown) if the child
        has not exited within `timeout` s."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("%s did not exit in %d s; log:\n%s"
                 % (self.name, timeout, self.text()[-3000:]))

    def size(self):
        return os.fstat(self.log.fileno()).st_size

    def text(self, since=0):
        """The log from byte `since` on, decoded; after close(), read back
        from log_path."""
        if self.log.closed:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        self.log.flush()
        size = self.size()
        if since >= size:
            return ""
        return os.pread(self.log.fileno(), size - since, since).decode(
            "utf-8", "replace")

    def close(self):
        """Kill the child if it still runs, then close the log."""
        if self.alive():
            self.kill()
        self.log.close()


def scrape(addr, path="/metrics"):
    """(status, body) of GET http://addr/path (an ops endpoint)."""
    try:
        with urllib.request.urlopen("http://%s%s" % (addr, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name, labels=None):
    """Value of one series in a Prometheus exposition (None if absent);
    labels, if given, must match the series' {...} exactly."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if m and m.group(1) == name and (labels is None or m.group(2) == labels):
            return float(m.group(3))
    return None

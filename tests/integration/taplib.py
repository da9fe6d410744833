"""What the Python integration programs share: TAP output, free loopback
ports, waiting for a port to accept. Imported from the programs' own
directory (Python puts a script's directory first on sys.path)."""

import socket
import time

HOST = "127.0.0.1"


class Tap:
    """TAP lines: `ok N - name` / `not ok N - name`, `# ` diagnostics, and
    the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line, flush=True)

    def ok(self, cond, name, expected=None, got=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, name),
              flush=True)
        if not cond and (expected is not None or got is not None):
            self.diag("expected %r, got %r" % (expected, got))
        return cond

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def free_ports(n):
    """n distinct loopback ports free right now."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind((HOST, 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_port(port, timeout, proc=None):
    """True once HOST:port accepts a connection within timeout seconds;
    False at once if proc (a Popen) has exited."""
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False

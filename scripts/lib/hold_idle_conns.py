#!/usr/bin/env python3
"""Open N TCP connections to HOST:PORT, make one exchange on each (so every server has seen
traffic and gone back to its idle state), report, hold them idle until stdin closes (or a time
limit passes), then close them. Used by bench-idle-memory.sh.

With HOLD_HTTP=1 the exchange is an HTTP/1.1 keep-alive GET instead of a one-byte echo; with
HOLD_TLS=CAFILE as well, over TLS (Python's ssl, trusting CAFILE, for the name localhost)."""
import os
import resource
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold_limit = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
conns = []
HTTP = os.environ.get("HOLD_HTTP") == "1"
TLS = None
if os.environ.get("HOLD_TLS"):
    import ssl

    TLS = ssl.create_default_context(cafile=os.environ["HOLD_TLS"])


def exchange(s):
    if HTTP:
        s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("server closed during the HTTP exchange")
            reply += chunk
        if not reply.startswith(b"HTTP/1.1 200"):
            sys.exit(f"unexpected reply {reply[:40]!r}")
    else:
        s.sendall(b"x")
        if s.recv(1) != b"x":
            sys.exit("echo exchange failed")


for i in range(count):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host, port))
    if TLS is not None:
        s = TLS.wrap_socket(s, server_hostname="localhost")
    exchange(s)
    conns.append(s)
print(f"holding {len(conns)}", flush=True)
deadline = time.time() + hold_limit
while time.time() < deadline:
    if sys.stdin.readline() == "":
        break
for s in conns:
    s.close()

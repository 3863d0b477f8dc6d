#!/usr/bin/env python3
"""Soak a server with a mix of real clients and verify every byte.

Starts one server command (it must print `listening <tcp|udp|http> <addr>` lines), then runs
client threads of several kinds against it for a given time:

  echo       TCP echo of random sizes, written in random splits, read back and compared
  halfclose  send, shut the write side, read the echo up to EOF
  reset      start a large write and close with SO_LINGER 0 (the server sees a reset mid-write)
  slowread   send 1 MiB, read it back in small pieces with pauses
  churn      connect, one byte there and back, close, as fast as possible
  udp        datagrams of random sizes, each answered before the next is sent
  pipeline   pipelined HTTP requests (GET, HEAD, POST /echo with Content-Length and chunked)
             in random splits; every response checked
  malformed  garbage and smuggling attempts; exactly one error response, then EOF

Reports bytes verified, bytes lost (sent on a healthy connection and never echoed: must be 0),
errors by kind, and the server's RSS at the start (after a warm-up) and at the end. Exits 1 if
anything was lost or corrupted, a client saw an error it should not have, or RSS grew past the
bound.
"""

import argparse
import collections
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

IO_TIMEOUT = 15.0
WARMUP = 3.0


class Tally:
    """Counters shared by every client thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.errors = collections.Counter()

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def error(self, kind):
        with self.lock:
            self.errors[kind] += 1


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    addrs = {}
    deadline = time.time() + 30
    while len(addrs) < 3 and time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        parts = line.split()
        if len(parts) == 3 and parts[0] == "listening":
            host, port = parts[2].rsplit(":", 1)
            addrs[parts[1]] = (host.strip("[]"), int(port))
    if len(addrs) < 3:
        proc.kill()
        sys.exit(f"soak: {cmd[0]} did not announce tcp, udp and http listeners")
    # Keep draining stdout so the server never blocks on it.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, addrs


def connect(addr):
    s = socket.create_connection(addr, timeout=IO_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n):
    chunks = []
    while n > 0:
        chunk = s.recv(min(n, 65536))
        if not chunk:
            raise EOFError("eof")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def classify(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, BrokenPipeError):
        return "broken_pipe"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, EOFError):
        return "early_eof"
    return type(exc).__name__


# ----- TCP clients -------------------------------------------------------------------------


def echo_client(addr, rng, tally):
    """Random sizes written in random splits by one thread while this one reads them back."""
    with connect(addr) as s:
        for _ in range(rng.randint(1, 8)):
            size = rng.choice([1, rng.randint(1, 512), rng.randint(1, 64 * 1024), rng.randint(1, 512 * 1024)])
            payload = rng.randbytes(size)
            cuts = sorted(rng.sample(range(1, size), min(size - 1, rng.randint(0, 16)))) if size > 1 else []
            pieces = [payload[a:b] for a, b in zip([0] + cuts, cuts + [size])]
            sent = [0]
            failed = []

            def write():
                try:
                    for piece in pieces:
                        s.sendall(piece)
                        sent[0] += len(piece)
                except OSError as e:
                    failed.append(e)

            writer = threading.Thread(target=write)
            writer.start()
            received = bytearray()
            try:
                while len(received) < size:
                    chunk = s.recv(262144)
                    if not chunk:
                        raise EOFError("eof")
                    received += chunk
            except (OSError, EOFError) as e:
                writer.join()
                tally.error("echo_" + classify(e))
                tally.add("bytes_lost", sent[0] - min(len(received), sent[0]))
                return
            writer.join()
            if failed:
                tally.error("echo_write_" + classify(failed[0]))
                return
            if bytes(received) != payload:
                tally.error("echo_mismatch")
                tally.add("bytes_lost", size)
                return
            tally.add("bytes_verified", size)
            tally.add("echo_rounds")


def halfclose_client(addr, rng, tally):
    payload = rng.randbytes(rng.randint(1, 200_000))
    with connect(addr) as s:
        try:
            # Write from a thread: the echo must be read while the payload is still being sent.
            writer = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
            writer.start()
            received = bytearray()
            while True:
                chunk = s.recv(262144)
                if not chunk:
                    break
                received += chunk
            writer.join()
        except (OSError, EOFError) as e:
            tally.error("halfclose_" + classify(e))
            return
    if bytes(received) != payload:
        tally.error("halfclose_mismatch")
        tally.add("bytes_lost", len(payload) - min(len(received), len(payload)))
        return
    tally.add("bytes_verified", len(payload))
    tally.add("halfcloses")


def reset_client(addr, rng, tally):
    s = connect(addr)
    try:
        s.setblocking(False)
        try:
            s.send(rng.randbytes(rng.randint(1024, 1 << 20)))
        except BlockingIOError:
            pass
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()
    tally.add("resets_sent")


def slowread_client(addr, rng, tally):
    payload = rng.randbytes(1 << 20)
    with connect(addr) as s:
        try:
            writer = threading.Thread(target=lambda: s.sendall(payload))
            writer.start()
            received = bytearray()
            while len(received) < len(payload):
                chunk = s.recv(rng.randint(512, 8192))
                if not chunk:
                    raise EOFError("eof")
                received += chunk
                time.sleep(0.002)
            writer.join()
        except (OSError, EOFError) as e:
            tally.error("slowread_" + classify(e))
            return
    if bytes(received) != payload:
        tally.error("slowread_mismatch")
        tally.add("bytes_lost", len(payload))
        return
    tally.add("bytes_verified", len(payload))
    tally.add("slow_reads")


def churn_client(addr, rng, tally):
    for _ in range(50):
        try:
            with connect(addr) as s:
                b = bytes([rng.randrange(256)])
                s.sendall(b)
                if recv_exact(s, 1) != b:
                    tally.error("churn_mismatch")
                    continue
        except (OSError, EOFError) as e:
            tally.error("churn_" + classify(e))
            continue
        tally.add("bytes_verified", 1)
        tally.add("churned")


def udp_client(addr, rng, tally):
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)
        s.connect(addr)
        for seq in range(200):
            payload = struct.pack("!I", seq) + rng.randbytes(rng.randint(0, 1400))
            s.send(payload)
            try:
                while True:
                    reply = s.recv(65536)
                    if reply[:4] == payload[:4]:
                        break
                    tally.error("udp_stale")  # a late answer to an earlier timeout
            except socket.timeout:
                tally.error("udp_timeout")
                tally.add("udp_bytes_lost", len(payload))
                continue
            if reply != payload:
                tally.error("udp_mismatch")
                continue
            tally.add("bytes_verified", len(payload))
            tally.add("datagrams")


# ----- HTTP clients ------------------------------------------------------------------------


def http_request(rng):
    """One request and the response it must get: (bytes, is_head, status, body or None)."""
    kind = rng.randrange(6)
    host = b"Host: soak\r\n"
    if kind == 0:
        return b"GET / HTTP/1.1\r\n" + host + b"\r\n", False, 200, b"Hello, client!"
    if kind == 1:
        return b"HEAD / HTTP/1.1\r\n" + host + b"\r\n", True, 200, None
    if kind == 2:
        return b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n", False, 200, b"ok\n"
    if kind == 3:
        return b"GET /missing HTTP/1.1\r\n" + host + b"\r\n", False, 404, None
    body = rng.randbytes(rng.randint(0, 20000))
    if kind == 4:
        head = b"POST /echo HTTP/1.1\r\n" + host + b"Content-Length: %d\r\n\r\n" % len(body)
        return head + body, False, 200, body
    chunks = bytearray(b"POST /echo HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n")
    at = 0
    while at < len(body):
        n = rng.randint(1, 5000)
        piece = body[at:at + n]
        chunks += b"%x;soak=1\r\n" % len(piece) + piece + b"\r\n"
        at += n
    chunks += b"0\r\nX-Soak: end\r\n\r\n"
    return bytes(chunks), False, 200, body


def read_response(s, buf, is_head):
    """Parse one response from socket `s` with leftover `buf`; returns (status, headers, body, buf)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("eof")
        buf += chunk
    end = buf.index(b"\r\n\r\n") + 4
    head = buf[:end].decode("latin-1")
    buf = buf[end:]
    lines = head.split("\r\n")
    status = int(lines[0][9:12])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = 0 if is_head else int(headers.get("content-length", "0"))
    while len(buf) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("eof")
        buf += chunk
    return status, headers, buf[:length], buf[length:]


def pipeline_client(addr, rng, tally):
    requests = [http_request(rng) for _ in range(rng.randint(1, 40))]
    stream = b"".join(r[0] for r in requests)
    with connect(addr) as s:
        try:
            def send():
                at = 0
                while at < len(stream):
                    n = rng.randint(1, 9000)
                    s.sendall(stream[at:at + n])
                    at += n
            writer = threading.Thread(target=send)
            writer.start()
            buf = b""
            for _, is_head, status, body in requests:
                got, _, got_body, buf = read_response(s, buf, is_head)
                if got != status or (body is not None and got_body != body):
                    tally.error("http_wrong_response")
                    return
                tally.add("http_responses")
                tally.add("bytes_verified", len(got_body))
            writer.join()
        except (OSError, EOFError) as e:
            tally.error("pipeline_" + classify(e))


MALFORMED = [
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /echo HTTP/1.1\r\nHost: s\r\nContent-Length: -1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : s\r\n\r\n",
]


def malformed_client(addr, rng, tally):
    bad = rng.choice(MALFORMED)
    # A smuggled request behind the bad one must never be answered.
    stream = bad + b"GET /healthz HTTP/1.1\r\nHost: s\r\n\r\n"
    with connect(addr) as s:
        try:
            s.sendall(stream)
            status, headers, _, buf = read_response(s, b"", False)
            if status != 400 or headers.get("connection") != "close":
                tally.error("malformed_wrong_status")
                return
            rest = buf
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                rest += chunk
            if rest:
                tally.error("malformed_extra_response")
                return
        except ConnectionResetError:
            pass  # the server closed with our smuggled bytes unread: allowed after its answer
        except (OSError, EOFError) as e:
            tally.error("malformed_" + classify(e))
            return
    tally.add("malformed_refused")


KINDS = {
    "echo": ("tcp", echo_client),
    "halfclose": ("tcp", halfclose_client),
    "reset": ("tcp", reset_client),
    "slowread": ("tcp", slowread_client),
    "churn": ("tcp", churn_client),
    "udp": ("udp", udp_client),
    "pipeline": ("http", pipeline_client),
    "malformed": ("http", malformed_client),
}


def worker(kind, addr, seed, deadline, tally):
    rng = random.Random(seed)
    _, client = KINDS[kind]
    while time.time() < deadline:
        try:
            client(addr, rng, tally)
        except Exception as e:  # noqa: BLE001 - counted, never fatal to the soak
            tally.error(f"{kind}_unexpected_{type(e).__name__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to soak")
    parser.add_argument("--threads", type=int, default=2, help="client threads per kind")
    parser.add_argument("--rss-growth-mib", type=float, default=32.0, help="allowed RSS growth")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the report here too")
    parser.add_argument("--name", default="server")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, help="server command (after --)")
    args = parser.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("give the server command after --")
    proc, addrs = start_server(cmd)
    tally = Tally()
    started = time.time()
    deadline = started + args.seconds
    threads = []
    try:
        for i, kind in enumerate(sorted(KINDS)):
            for t in range(args.threads):
                addr = addrs[KINDS[kind][0]]
                seed = args.seed * 1000 + i * 10 + t
                th = threading.Thread(target=worker, args=(kind, addr, seed, deadline, tally), daemon=True)
                th.start()
                threads.append(th)
        time.sleep(min(WARMUP, args.seconds / 4))
        rss_start = rss_kib(proc.pid)
        rss_peak = rss_start
        while time.time() < deadline:
            time.sleep(min(1.0, max(0.0, deadline - time.time())))
            rss_peak = max(rss_peak, rss_kib(proc.pid))
        for th in threads:
            th.join(timeout=IO_TIMEOUT * 4)
        rss_end = rss_kib(proc.pid)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    lost = tally.counts["bytes_lost"] + tally.counts["udp_bytes_lost"]
    corrupt = sum(v for k, v in tally.errors.items() if k.endswith("mismatch") or "wrong" in k or "extra" in k)
    growth_mib = (rss_end - rss_start) / 1024
    report = {
        "server": args.name,
        "seconds": round(time.time() - started, 1),
        "bytes_verified": tally.counts["bytes_verified"],
        "bytes_lost": lost,
        "counts": dict(sorted(tally.counts.items())),
        "errors": dict(sorted(tally.errors.items())),
        "rss_kib": {"start": rss_start, "peak": rss_peak, "end": rss_end},
        "rss_growth_bound_mib": args.rss_growth_mib,
        "server_alive_at_end": alive,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    failures = []
    if lost:
        failures.append(f"{lost} bytes lost")
    if corrupt:
        failures.append(f"{corrupt} corrupted or wrong answers")
    if tally.errors:
        failures.append(f"client errors {dict(tally.errors)}")
    if growth_mib > args.rss_growth_mib:
        failures.append(f"RSS grew {growth_mib:.1f} MiB > {args.rss_growth_mib} MiB")
    if not alive:
        failures.append("server died")
    if failures:
        print(f"soak: {args.name}: FAILED: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"soak: {args.name}: ok", file=sys.stderr)


if __name__ == "__main__":
    main()

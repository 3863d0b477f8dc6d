#!/usr/bin/env python3
"""The seed texts' echo server, as the project started from it: a blocking socket, one client at
a time, recv(1024) and send back until the client closes, then the next client.

Usage: seed_echo.py PORT   (binds 127.0.0.1:PORT; prints nothing, like the seed)
SIGTERM ends it with status 0 (the comparison's contract).
"""
import signal
import socket
import sys


def main():
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        while True:
            conn, _addr = s.accept()
            with conn:
                while True:
                    try:
                        data = conn.recv(1024)
                    except ConnectionError:
                        break
                    if not data:
                        break
                    try:
                        conn.sendall(data)
                    except ConnectionError:
                        break


if __name__ == "__main__":
    main()

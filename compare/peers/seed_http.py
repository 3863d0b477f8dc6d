#!/usr/bin/env python3
"""The seed texts' web server: socketserver.TCPServer with an http.server handler whose do_GET
answers 200 "Hello, client!". One client at a time; HTTP/1.0 (the module's default), so the
connection closes after each answer and the body has no Content-Length.

Usage: seed_http.py PORT   (binds 127.0.0.1:PORT)
SIGTERM ends it with status 0 (the comparison's contract).
"""
import http.server
import signal
import socketserver
import sys


class Hello(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-type", "text/html")
        self.end_headers()
        self.wfile.write("Hello, client!".encode())

    def log_message(self, *_args):
        # The seed logs every request to stderr; under load that measures the terminal.
        pass


def main():
    port = int(sys.argv[1])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    socketserver.TCPServer.allow_reuse_address = True
    with socketserver.TCPServer(("127.0.0.1", port), Hello) as httpd:
        httpd.serve_forever()


if __name__ == "__main__":
    main()

"""An Internet web server for the office: python's http.server.

Usage: web_server.py '{"address": "127.x.y.z", "port": N}'
Answers every GET with a small HTML page. Prints "ready"; ends when standard input
closes.
"""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _common import args_json, exit_when_stdin_closes, only_loopback, ready


class Page(BaseHTTPRequestHandler):
    server_version = "nginx/1.22.1"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        host = self.headers.get("Host", "example")
        body = (
            f"<!doctype html><html><head><title>{host}</title></head>"
            f"<body><h1>{host}</h1><p>{self.path}</p>" + "<p>news</p>" * 40 + "</body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    a = args_json()
    httpd = ThreadingHTTPServer((only_loopback(a["address"]), int(a["port"])), Page)
    httpd.daemon_threads = True
    exit_when_stdin_closes()
    ready()
    httpd.serve_forever()


if __name__ == "__main__":
    main()

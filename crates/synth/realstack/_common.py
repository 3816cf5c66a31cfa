"""Shared helpers of the real-stack scripts (see README.md beside this file).

Every script is started by `sluice-synth realstack` (crates/synth/src/realstack), talks
only to loopback addresses, and ends when its standard input closes, so that nothing
outlives the generator even if it is killed.
"""
import json
import logging
import os
import socket
import sys
import threading
import time


def exit_when_stdin_closes():
    """Ends the process (at once) when the parent closes our standard input."""

    def watch():
        try:
            sys.stdin.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def only_loopback(ip):
    if not ip.startswith("127."):
        sys.exit(f"refusing non-loopback address {ip}")
    return ip


def bind_source(ip):
    """Makes every IPv4 socket this process connects leave from `ip` (a loopback
    address): the clients of the stacks (urllib, python-snap7, twisted) do not all take
    a source address, so `connect` binds the socket first when it is still unbound."""
    only_loopback(ip)
    orig_connect = socket.socket.connect
    orig_connect_ex = socket.socket.connect_ex

    def bind_first(s, address):
        if s.family == socket.AF_INET and isinstance(address, tuple):
            only_loopback(address[0])
            try:
                host, port = s.getsockname()
            except OSError:
                host, port = "0.0.0.0", 0
            if port == 0 and host == "0.0.0.0":
                s.bind((ip, 0))

    def connect(s, address):
        bind_first(s, address)
        return orig_connect(s, address)

    def connect_ex(s, address):
        bind_first(s, address)
        return orig_connect_ex(s, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


def quiet():
    logging.disable(logging.CRITICAL)


def ready():
    print("ready", flush=True)


def args_json():
    """The single command-line argument, a JSON object."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} JSON")
    return json.loads(sys.argv[1])


def sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)

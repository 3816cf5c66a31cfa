"""A Siemens S7 PLC: the python-snap7 3.3.0 server.

Usage: s7_plc.py '{"address": "127.x.y.z", "port": N}'
DB1 (64 bytes: a REAL flow at 0, an INT level at 4, a REAL setpoint at 8), 16 bytes
of flags, inputs and outputs. Prints "ready" once listening; ends when standard input
closes.
"""
import struct
import time

from _common import args_json, exit_when_stdin_closes, only_loopback, quiet, ready
from snap7.server import Server
from snap7.type import SrvArea


def main():
    quiet()
    a = args_json()
    host = only_loopback(a["address"])
    db1 = bytearray(64)
    struct.pack_into(">f", db1, 0, 42.5)
    struct.pack_into(">h", db1, 4, 1180)
    struct.pack_into(">f", db1, 8, 7.2)
    server = Server(log=False)
    server.register_area(SrvArea.DB, 1, db1)
    for area in (SrvArea.MK, SrvArea.PE, SrvArea.PA):
        server.register_area(area, 0, bytearray(16))
    server.start_to(host, int(a["port"]))
    exit_when_stdin_closes()
    ready()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

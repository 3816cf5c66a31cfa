"""One client of a real-stack scenario: a real protocol client run on a timeline.

Usage: actor.py JSON
JSON: {"kind": "modbus" | "s7" | "vnc" | "http" | "nmap", "src": "127.x.y.z",
       "dst": "127.x.y.z", "port": N, "steps": [{"at": SECONDS,
       "op": ..., ...}, ...]}
Once its libraries are loaded the actor prints "ready" and reads the start time (a
UNIX time, one line) from standard input, so that every actor of a scenario shares one
timeline however long its imports took. Each step runs at start + at (in order; a late
step runs at once). The client's sockets leave from `src`. Prints one JSON line {"ok": bool, "done": N, "error": str}
and exits 0 when every step ran (a protocol error answer is not a failure: it is
traffic too).

Ops per kind:
  modbus (pymodbus 3.16.1, one connection):  read_hr / read_ir / read_coils / read_di
      (address, count), write_register (address, value), write_registers (address,
      values), write_coil (address, value), write_coils (address, values),
      device_id (code, object), all with "unit" (default 1)
  s7 (python-snap7 3.3.0): connect (rack, slot), db_read (db, start, size), db_write
      (db, start, hex), szl (id, index), plc_stop, disconnect
  vnc (vncdotool 1.4.2 over twisted): connect, move (x, y), key (key), disconnect
  http (urllib): get (path, host)
  nmap (Debian nmap, TCP connect scan): sweep (targets, ports)
"""
import json
import subprocess
import sys
import time
import urllib.request

from _common import args_json, bind_source, exit_when_stdin_closes, only_loopback, quiet, sleep_until

ModbusTcpClient = snap7 = api = None


def load(kind):
    """Imports the client library of `kind` (before the timeline starts)."""
    global ModbusTcpClient, snap7, api
    if kind == "modbus":
        from pymodbus.client import ModbusTcpClient
    elif kind == "s7":
        import snap7
        import snap7.client  # noqa: F401
    elif kind == "vnc":
        from vncdotool import api


def run_modbus(a, steps):
    c = ModbusTcpClient(a["dst"], port=a["port"], source_address=(a["src"], 0), timeout=2,
                        retries=0)
    done = 0
    for s in steps:
        sleep_until(a["start"] + s["at"])
        if not c.connected and not c.connect():
            raise RuntimeError(f"cannot connect to {a['dst']}:{a['port']}")
        unit = s.get("unit", 1)
        op = s["op"]
        try:
            if op == "read_hr":
                c.read_holding_registers(s["address"], count=s["count"], device_id=unit)
            elif op == "read_ir":
                c.read_input_registers(s["address"], count=s["count"], device_id=unit)
            elif op == "read_coils":
                c.read_coils(s["address"], count=s["count"], device_id=unit)
            elif op == "read_di":
                c.read_discrete_inputs(s["address"], count=s["count"], device_id=unit)
            elif op == "write_register":
                c.write_register(s["address"], s["value"], device_id=unit)
            elif op == "write_registers":
                c.write_registers(s["address"], s["values"], device_id=unit)
            elif op == "write_coil":
                c.write_coil(s["address"], bool(s["value"]), device_id=unit)
            elif op == "write_coils":
                c.write_coils(s["address"], [bool(v) for v in s["values"]], device_id=unit)
            elif op == "device_id":
                c.read_device_information(read_code=s.get("code", 1),
                                          object_id=s.get("object", 0), device_id=unit)
            else:
                raise ValueError(f"unknown modbus op {op}")
        except ValueError:
            raise
        except Exception:  # noqa: BLE001 - a timeout or an exception answer is traffic too
            pass
        done += 1
    c.close()
    return done


def run_s7(a, steps):
    c = snap7.client.Client()
    done = 0
    for s in steps:
        sleep_until(a["start"] + s["at"])
        op = s["op"]
        if op == "connect":
            c.connect(a["dst"], s.get("rack", 0), s.get("slot", 2), a["port"])
        elif op == "db_read":
            c.db_read(s["db"], s["start"], s["size"])
        elif op == "db_write":
            c.db_write(s["db"], s["start"], bytearray.fromhex(s["hex"]))
        elif op == "szl":
            c.read_szl(s["id"], s.get("index", 0))
        elif op == "plc_stop":
            c.plc_stop()
        elif op == "disconnect":
            c.disconnect()
        else:
            raise ValueError(f"unknown s7 op {op}")
        done += 1
    return done


def run_vnc(a, steps):
    client = None
    done = 0
    try:
        for s in steps:
            sleep_until(a["start"] + s["at"])
            op = s["op"]
            if op == "connect":
                client = api.connect(f"{a['dst']}::{a['port']}", password=None, timeout=5)
                # The first framebuffer request (what a viewer shows first).
                client.refreshScreen(incremental=False)
            elif op == "move":
                client.mouseMove(s["x"], s["y"])
            elif op == "key":
                client.keyPress(s["key"])
            elif op == "disconnect":
                client.disconnect()
                client = None
            else:
                raise ValueError(f"unknown vnc op {op}")
            done += 1
    finally:
        if client is not None:
            client.disconnect()
        api.shutdown()
    return done


def run_http(a, steps):
    done = 0
    for s in steps:
        sleep_until(a["start"] + s["at"])
        if s["op"] != "get":
            raise ValueError(f"unknown http op {s['op']}")
        url = f"http://{a['dst']}:{a['port']}{s.get('path', '/')}"
        req = urllib.request.Request(url, headers={
            "Host": s.get("host", "www.example.com"),
            "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/120.0",
        })
        with urllib.request.urlopen(req, timeout=3) as r:
            r.read()
        done += 1
    return done


def run_nmap(a, steps):
    done = 0
    for s in steps:
        sleep_until(a["start"] + s["at"])
        if s["op"] != "sweep":
            raise ValueError(f"unknown nmap op {s['op']}")
        for t in s["targets"]:
            only_loopback(t)
        cmd = ["nmap", "-sT", "-Pn", "-n", "-e", "lo", "-S", a["src"], "--max-retries", "0",
               "-T4", "-p", ",".join(str(p) for p in s["ports"]), "-oN", "/dev/null",
               *s["targets"]]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
        done += 1
    return done


def main():
    quiet()
    a = args_json()
    only_loopback(a["src"])
    only_loopback(a["dst"])
    runner = {"modbus": run_modbus, "s7": run_s7, "vnc": run_vnc, "http": run_http,
              "nmap": run_nmap}.get(a["kind"])
    if runner is None:
        sys.exit(f"unknown kind {a['kind']}")
    load(a["kind"])
    if a["kind"] != "nmap":
        bind_source(a["src"])
    print("ready", flush=True)
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    a["start"] = float(line)
    exit_when_stdin_closes()
    try:
        done = runner(a, a["steps"])
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"ok": False, "error": repr(e)}), flush=True)
        sys.exit(1)
    print(json.dumps({"ok": True, "done": done}), flush=True)


if __name__ == "__main__":
    main()

"""A Modbus client for the gate's tests: real pymodbus clients, TLS or plain.

Usage: client.py JSON
JSON: {"port": N, "tls": {"ca": F, "cert": F, "key": F, "max_version": "1.2"} | null,
       "source": "127.0.0.2" | null, "ops": [{"op": ..., ...}, ...]}
ops: read_hr/read_ir/read_coils (address, count), write_register (address, value),
     write_registers (address, values), write_coil (address, value), unit (default 1).
Prints one JSON object: {"connected": bool, "error": str, "results": [...]} where each
result is {"ok": true, "registers"|"bits": [...]} or {"ok": false, "exception": code}
or {"ok": false, "error": text}.
"""
import json
import logging
import ssl
import sys

from pymodbus.client import ModbusTcpClient, ModbusTlsClient


def main():
    logging.disable(logging.CRITICAL)
    a = json.loads(sys.argv[1])
    out = {"connected": False, "error": None, "results": []}
    kw = dict(port=a["port"], timeout=a.get("timeout", 3), retries=0)
    if a.get("source"):
        kw["source_address"] = (a["source"], 0)
    if a.get("tls"):
        t = a["tls"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(t["ca"])
        ctx.load_cert_chain(t["cert"], t["key"])
        # pymodbus gives no server_hostname: the chain is still verified against the CA
        ctx.check_hostname = False
        if t.get("max_version") == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        client = ModbusTlsClient("127.0.0.1", sslctx=ctx, **kw)
    else:
        client = ModbusTcpClient("127.0.0.1", **kw)
    try:
        out["connected"] = bool(client.connect())
    except Exception as e:  # noqa: BLE001
        out["error"] = repr(e)
    if out["connected"]:
        for op in a["ops"]:
            out["results"].append(run(client, op))
    client.close()
    print(json.dumps(out), flush=True)


def run(client, op):
    unit = op.get("unit", 1)
    kind = op["op"]
    try:
        if kind == "read_hr":
            r = client.read_holding_registers(op["address"], count=op["count"], device_id=unit)
        elif kind == "read_ir":
            r = client.read_input_registers(op["address"], count=op["count"], device_id=unit)
        elif kind == "read_coils":
            r = client.read_coils(op["address"], count=op["count"], device_id=unit)
        elif kind == "write_register":
            r = client.write_register(op["address"], op["value"], device_id=unit)
        elif kind == "write_registers":
            r = client.write_registers(op["address"], op["values"], device_id=unit)
        elif kind == "write_coil":
            r = client.write_coil(op["address"], op["value"], device_id=unit)
        else:
            return {"ok": False, "error": "unknown op " + kind}
    except Exception as e:  # noqa: BLE001
        return {"ok": False, "error": repr(e)}
    if r.isError():
        return {"ok": False, "exception": getattr(r, "exception_code", None), "error": str(r)}
    res = {"ok": True}
    if getattr(r, "registers", None):
        res["registers"] = list(r.registers)
    if kind == "read_coils":
        res["bits"] = [bool(b) for b in r.bits[: op["count"]]]
    return res


if __name__ == "__main__":
    main()

"""A Modbus/TCP PLC: a real pymodbus 3.16.1 server.

Usage: modbus_plc.py '{"address": "127.x.y.z", "port": N, "vendor": "...",
                       "product": "...", "revision": "..."}'
Unit 1: 100 coils, discrete inputs, holding and input registers. Holding register 5
is the sodium hydroxide setpoint (100 ppm); input registers hold process values.
Other unit ids get an exception (gateway path unavailable), as a real gateway answers.
Prints "ready" once it accepts connections; ends when standard input closes.
"""
import asyncio

from _common import args_json, exit_when_stdin_closes, only_loopback, quiet, ready
from pymodbus.pdu.device import ModbusDeviceIdentification
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def device():
    bits = lambda: [SimData(address=0, count=100, values=False, datatype=DataType.BITS)]
    holding = [
        SimData(address=0, values=[7, 72, 350, 12, 1], datatype=DataType.REGISTERS),
        SimData(address=5, count=1, values=100, datatype=DataType.REGISTERS),
        SimData(address=6, count=94, values=0, datatype=DataType.REGISTERS),
    ]
    inputs = [
        SimData(address=0, values=[712, 68, 1450, 3, 98, 2210, 40, 0, 1, 15],
                datatype=DataType.REGISTERS),
        SimData(address=10, count=90, values=0, datatype=DataType.REGISTERS),
    ]
    return SimDevice(id=1, simdata=(bits(), bits(), holding, inputs))


async def main():
    quiet()
    a = args_json()
    host = only_loopback(a["address"])
    port = int(a["port"])
    identity = ModbusDeviceIdentification(
        info_name={
            "VendorName": a.get("vendor", "Schneider Electric"),
            "ProductCode": a.get("product", "BMX P34 2020"),
            "MajorMinorRevision": a.get("revision", "v3.10"),
            "ProductName": a.get("product", "BMX P34 2020"),
        }
    )
    server = ModbusTcpServer(device(), address=(host, port), identity=identity)
    task = asyncio.create_task(server.serve_forever())
    exit_when_stdin_closes()
    for _ in range(500):
        if server.transport is not None:
            break
        await asyncio.sleep(0.01)
    ready()
    await task


if __name__ == "__main__":
    asyncio.run(main())

"""A legacy PLC for the gate's tests: a real pymodbus Modbus/TCP server.

Usage: plc.py PORT
Unit 1 has 100 coils, discrete inputs, holding and input registers (addresses 0-99),
all 0 except holding register 5 = 100 (the Oldsmar setpoint: 100 ppm). Prints
"ready" once listening; stops on SIGTERM or when stdin closes.
"""
import asyncio
import logging
import sys

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def device():
    bits = lambda: [SimData(address=0, count=100, values=False, datatype=DataType.BITS)]
    regs = [
        SimData(address=0, count=5, values=0, datatype=DataType.REGISTERS),
        SimData(address=5, count=1, values=100, datatype=DataType.REGISTERS),
        SimData(address=6, count=94, values=0, datatype=DataType.REGISTERS),
    ]
    inputs = [SimData(address=0, count=100, values=7, datatype=DataType.REGISTERS)]
    return SimDevice(id=1, simdata=(bits(), bits(), regs, inputs))


async def main():
    logging.disable(logging.CRITICAL)
    port = int(sys.argv[1])
    server = ModbusTcpServer(device(), address=("127.0.0.1", port))
    task = asyncio.create_task(server.serve_forever())
    # serve_forever binds first; wait until the port accepts connections
    for _ in range(200):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([task, stdin_closed], return_when=asyncio.FIRST_COMPLETED)
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

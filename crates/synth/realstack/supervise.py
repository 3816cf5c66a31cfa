"""Runs a program (Xvnc, tcpdump) and stops it (SIGTERM to its process group, then
SIGKILL) when standard input closes or this process gets SIGTERM: nothing outlives the
generator, even when the generator itself is killed.

Usage: supervise.py PROGRAM ARGS...
The program's output and errors are passed through; prints nothing itself.
"""
import os
import signal
import subprocess
import sys
import threading


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: supervise.py PROGRAM ARGS...")
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(*_):
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=3)
        except Exception:  # noqa: BLE001
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except Exception:  # noqa: BLE001
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    code = child.wait()
    os._exit(code if code > 0 else 1)


if __name__ == "__main__":
    main()

"""`python -m integrations.sandbox serve`: every emulator on its fixed loopback port until stopped."""

from __future__ import annotations

import signal
import sys
import threading

from integrations.sandbox.registry import EMULATORS


def serve() -> int:
    # Handlers first, so a stop that arrives while the emulators start still ends cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    running = [cls(port=cls.default_port).start() for cls in EMULATORS]
    for emulator in running:
        print(f"[sandbox] {emulator.name} emulator on {emulator.base_url}", flush=True)  # noqa: T201
    stop.wait()
    for emulator in running:
        emulator.stop()
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: python -m integrations.sandbox serve")
    sys.exit(serve())

"""Which emulators exist, the ports `make run` gives them, and the settings that point ALT at them."""

from __future__ import annotations

from integrations.sandbox.base import Emulator
from integrations.sandbox.google import GoogleEmulator
from integrations.sandbox.resend import ResendEmulator

EMULATORS: list[type[Emulator]] = [ResendEmulator, GoogleEmulator]


def sandbox_environment(env: dict[str, str]) -> dict[str, str]:
    """Environment for `make run` so every provider without real credentials uses its emulator.

    Email stays on the console backend when RESEND_API_KEY is unset (the verification links are
    printed where the developer is looking); set RESEND_API_KEY=re_sandbox to route it through the
    Resend emulator instead.
    """
    out: dict[str, str] = {}
    if env.get("RESEND_API_KEY", "").startswith("re_sandbox"):
        out["RESEND_API_URL"] = f"http://127.0.0.1:{ResendEmulator.default_port}"
    # Google (OAuth + Calendar, GoogleEmulator on its default_port) gets its settings here when the
    # calendar-sync feature adds them; nothing reads Google settings yet.
    return out

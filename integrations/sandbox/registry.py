"""Which emulators exist, the ports `make run` gives them, and the settings that point ALT at them.

A new emulator is added to EMULATORS with its own port; it declares its settings itself
(`Emulator.sandbox_settings`).
"""

from __future__ import annotations

from integrations.sandbox.base import Emulator
from integrations.sandbox.google import GoogleEmulator
from integrations.sandbox.instagram import InstagramEmulator
from integrations.sandbox.resend import ResendEmulator
from integrations.sandbox.twilio import TwilioEmulator

EMULATORS: list[type[Emulator]] = [
    ResendEmulator,
    GoogleEmulator,
    InstagramEmulator,
    TwilioEmulator,
]


def sandbox_environment(env: dict[str, str]) -> dict[str, str]:
    """Environment for `make run` so every provider without real credentials uses its emulator,
    on the emulator's fixed loopback port."""
    out: dict[str, str] = {}
    for emulator in EMULATORS:
        out |= emulator.sandbox_settings(f"http://127.0.0.1:{emulator.default_port}", env)
    return out

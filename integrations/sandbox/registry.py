"""Which emulators exist, the ports `make run` gives them, and the settings that point ALT at them."""

from __future__ import annotations

from integrations.sandbox.base import Emulator
from integrations.sandbox.google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, GoogleEmulator
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
    if not env.get("GOOGLE_CLIENT_ID"):
        # Google OAuth + Calendar go to GoogleEmulator on its fixed port, with its sandbox client.
        google = f"http://127.0.0.1:{GoogleEmulator.default_port}"
        out |= {
            "GOOGLE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "GOOGLE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "GOOGLE_OAUTH_AUTH_URL": f"{google}/o/oauth2/auth",
            "GOOGLE_OAUTH_TOKEN_URL": f"{google}/token",
            "GOOGLE_OAUTH_REVOKE_URL": f"{google}/revoke",
            "GOOGLE_CALENDAR_API_URL": f"{google}/calendar/v3/",
        }
    return out

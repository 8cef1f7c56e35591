"""Twilio Programmable Messaging, emulated on one loopback port (EXTERNAL_APIS.md §4).

- api.twilio.com  POST/GET /2010-04-01/Accounts/{AccountSid}/Messages(.json|/{Sid}.json)
                  (messaging.py); .../Messages/{Sid}/Media(.json|/{MediaSid}(.json)) (media.py)
- Twilio's media CDN  GET /cdn/... on another origin of the same server (media.py)
- the sandbox console  GET /console (console.py): text ALT by hand, see what ALT sent

core.py holds the state every part reads (accounts with their tokens and numbers, messages, the
per-sender opt-out set, carrier rejections, media) and Twilio's error shape. Each part is a mixin
with its own routes; `TwilioEmulator` puts them together. Twilio calling ALT is built on
integrations/sandbox/webhooks.py's `twilio_signer`: status callbacks (callbacks.py,
`deliver_status_callbacks`) and signed inbound texts (deliveries.py, `deliver_inbound`).
"""

from __future__ import annotations

from collections.abc import Mapping

from integrations.sandbox.twilio.callbacks import StatusCallback
from integrations.sandbox.twilio.console import TwilioConsoleRoutes
from integrations.sandbox.twilio.deliveries import keyword_of
from integrations.sandbox.twilio.media import TwilioMediaRoutes
from integrations.sandbox.twilio.messaging import TwilioMessagingRoutes, segments

__all__ = ["StatusCallback", "TwilioEmulator", "keyword_of", "segments"]


class TwilioEmulator(TwilioMessagingRoutes, TwilioMediaRoutes, TwilioConsoleRoutes):
    name = "twilio"
    default_port = 8029

    @classmethod
    def sandbox_settings(cls, base_url: str, env: Mapping[str, str]) -> dict[str, str]:
        """SMS goes to this emulator unless a real Twilio API URL is configured; Settings -> SMS
        offers the sandbox's own account."""
        if env.get("TWILIO_API_URL"):
            return {}
        return {
            "TWILIO_API_URL": base_url,
            "TWILIO_SANDBOX_ACCOUNT_SID": cls.default_account_sid,
            "TWILIO_SANDBOX_AUTH_TOKEN": cls.default_auth_token,
            "TWILIO_SANDBOX_NUMBER": cls.default_number,
            # Twilio's media URLs point at the emulator in the sandbox.
            "TWILIO_MEDIA_HOSTS": "127.0.0.1",
            # Read by the emulator itself (callbacks.py): in `make run`, status callbacks go out
            # by themselves, one status every 2 seconds.
            "TWILIO_SANDBOX_AUTO_STATUS_SECONDS": "2",
        }

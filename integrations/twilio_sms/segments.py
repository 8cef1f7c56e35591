"""How many SMS segments a text costs, by Twilio's rules (EXTERNAL_APIS.md §4.1;
twilio.com/docs/glossary/what-sms-character-limit): GSM-7 160 characters alone or 153 per part,
the extension table (^{}\\[~]|€ and form feed) counting two; anything else UCS-2, 70 alone or 67
per part, counted in UTF-16 code units (an emoji is two).

The app's own copy: app code never imports the sandbox, and a test keeps the two in agreement
(the emulator's `segments`). static/js/sms_segments.js applies the same rules as the agent types.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SegmentCount:
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)

    @property
    def words(self) -> str:
        """What the compose box says: "1 text message" / "3 text messages (special characters:
        70 per message)"."""
        plural = "message" if self.segments == 1 else "messages"
        text = f"{self.segments} text {plural}"
        if self.encoding == "UCS-2" and self.segments:
            text += " (special characters: 70 per message)"
        return text


def segment_count(body: str) -> SegmentCount:
    """The segments Twilio bills for `body`, with the encoding that decided it."""
    if all(c in GSM7 or c in GSM7_EXTENSION for c in body):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in body)
        if not body:
            return SegmentCount(0, "GSM-7", 0)
        return SegmentCount(1 if septets <= 160 else -(-septets // 153), "GSM-7", septets)
    units = len(body.encode("utf-16-le")) // 2
    return SegmentCount(1 if units <= 70 else -(-units // 67), "UCS-2", units)


def segments(body: str) -> int:
    return segment_count(body).segments

"""Dollar amounts as people type them: '$1,250,000', '850k', '1.2M'.

The one parser behind the contact form's budget, the property form's price and square feet, and
the CSV import's budget columns.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_amount(raw: str, *, suffixes: bool = True) -> int | None:
    """'$1,250,000' -> 1250000, '850k' -> 850000, '1.2M' -> 1200000, '' -> None.

    Dollar signs, thousands separators and spaces are ignored and the case of the k/m suffix does
    not matter; `suffixes=False` refuses k and m (for counts such as square feet). Cents are
    rounded to the nearest whole amount ('450,000.50' -> 450001), since every column holding an
    amount is an integer. Raises ValueError for anything else, including a negative number. The
    caller checks the range.
    """
    text = raw.strip().lower().replace("$", "").replace(",", "").replace(" ", "")
    if not text:
        return None
    match = _AMOUNT.match(text)
    if match is None or (match.group(2) and not suffixes):
        raise ValueError(f"not an amount: {raw!r}")
    value = Decimal(match.group(1)) * _MULTIPLIERS[match.group(2)]
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))

from __future__ import annotations

import re

from django.test import Client


def test_the_settings_page_shows_every_card_in_its_order(alice_client: Client) -> None:
    page = alice_client.get("/settings/").content.decode()

    titles = re.findall(r'<div class="card-head"><h2>([^<]+)</h2>', page)
    assert titles == [
        "Account",
        "Workspace &amp; team",
        "Pipeline &amp; fields",
        "Calendar Sync",
        "Social",
        "SMS",
        "Billing",
        "AI Training &amp; Privacy",
    ]
    assert 'aria-label="Connect Calendar Sync">Connect</a>' in page

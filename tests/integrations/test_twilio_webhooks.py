"""Twilio's webhooks (EXTERNAL_APIS.md §4.3-§4.5): signed over the exact public URL, stored once,
forgeries and unknown numbers refused with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from contacts.models import Message
from integrations.models import InboundEvent
from integrations.twilio_sms.models import TwilioAccount
from integrations.webhooks import signature_failures
from tests.integrations.twilio_wire_helpers import (
    PUBLIC,
    inbound,
    inbound_params,
    message_sid,
    process_events,
    status,
    status_params,
)

pytestmark = pytest.mark.django_db


def test_a_signed_inbound_text_is_stored_and_answered_with_empty_twiml(
    sms_account: TwilioAccount,
) -> None:
    params = inbound_params()

    response = inbound(params)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    event = InboundEvent.objects.get()
    assert (event.provider, event.external_id) == ("twilio_sms", params["MessageSid"])


def test_a_forged_signature_is_403_and_stores_nothing(sms_account: TwilioAccount) -> None:
    before = signature_failures("twilio_sms")

    response = inbound(inbound_params(), token="not-the-auth-token")

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()
    assert signature_failures("twilio_sms") == before + 1


def test_an_unsigned_delivery_is_403(sms_account: TwilioAccount, client: Any) -> None:
    response = client.post("/webhooks/twilio/sms/", inbound_params())

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


def test_a_body_changed_after_signing_is_403(sms_account: TwilioAccount) -> None:
    from django.test import Client

    from integrations.sandbox.webhooks import twilio_form_body, twilio_signer
    from tests.integrations.twilio_wire_helpers import TOKEN

    params = inbound_params("See you at 5")
    headers = twilio_signer(TOKEN)(twilio_form_body(params), PUBLIC + "/webhooks/twilio/sms/")
    tampered = twilio_form_body({**params, "Body": "See you at 6"})

    response = Client().post(
        "/webhooks/twilio/sms/",
        tampered,
        content_type=headers.pop("Content-Type"),
        headers=headers,
    )

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


def test_a_signature_for_another_url_is_403(sms_account: TwilioAccount) -> None:
    response = inbound(inbound_params(), signed_url=PUBLIC + "/webhooks/twilio/status/")

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()


def test_behind_a_proxy_the_public_base_url_is_what_twilio_signed(
    sms_account: TwilioAccount, settings: Any
) -> None:
    settings.TWILIO_PUBLIC_BASE_URL = "https://alt.example.com"
    settings.ALLOWED_HOSTS = ["*"]
    params = inbound_params()

    # Django sees the proxy's upstream host; Twilio signed the public https URL.
    signed_public = inbound(
        params, signed_url="https://alt.example.com/webhooks/twilio/sms/", host="web-1:8000"
    )
    signed_as_django_sees_it = inbound(
        inbound_params(), signed_url="http://web-1:8000/webhooks/twilio/sms/", host="web-1:8000"
    )

    assert signed_public.status_code == 200
    assert signed_as_django_sees_it.status_code == 403
    assert InboundEvent.objects.get().external_id == params["MessageSid"]


def test_the_query_string_is_part_of_the_signed_url(sms_account: TwilioAccount) -> None:
    from django.test import Client

    from integrations.sandbox.webhooks import twilio_form_body, twilio_signer
    from tests.integrations.twilio_wire_helpers import TOKEN

    params = inbound_params()
    body = twilio_form_body(params)
    path = "/webhooks/twilio/sms/?workspace=alice&x=1"
    with_query = twilio_signer(TOKEN)(body, PUBLIC + path)
    without_query = twilio_signer(TOKEN)(body, PUBLIC + "/webhooks/twilio/sms/")

    def post(headers: dict[str, str]) -> Any:
        headers = dict(headers)
        return Client().post(path, body, content_type=headers.pop("Content-Type"), headers=headers)

    assert post(without_query).status_code == 403
    assert post(with_query).status_code == 200


def test_blank_parameters_are_part_of_the_signature(sms_account: TwilioAccount) -> None:
    params = inbound_params(ToCity="", ToZip="", FromCity="")

    assert inbound(params).status_code == 200


def test_a_text_to_a_number_no_workspace_serves_is_403_and_stores_nothing(
    sms_account: TwilioAccount,
) -> None:
    before = signature_failures("twilio_sms")

    response = inbound(inbound_params(To="+15005559999"))

    assert response.status_code == 403
    assert not InboundEvent.objects.exists()
    assert signature_failures("twilio_sms") == before + 1


def test_a_removed_account_stops_at_once(sms_account: TwilioAccount) -> None:
    assert inbound(inbound_params()).status_code == 200
    TwilioAccount.objects.for_workspace(sms_account.workspace).filter(id=sms_account.id).update(
        status=TwilioAccount.Status.REMOVED
    )

    assert inbound(inbound_params()).status_code == 403
    assert InboundEvent.objects.count() == 1


def test_a_changed_auth_token_takes_effect_at_once(sms_account: TwilioAccount) -> None:
    sms_account.auth_token = "rotated-auth-token-1111111111111"
    sms_account.save()

    assert inbound(inbound_params()).status_code == 403
    assert inbound(inbound_params(), token="rotated-auth-token-1111111111111").status_code == 200


def test_another_accounts_sid_cannot_sign_for_our_number(
    sms_account: TwilioAccount, charlie: Any
) -> None:
    from tests.conftest import workspace_of

    TwilioAccount.objects.create(
        workspace=workspace_of(charlie),
        account_sid="AC" + "cc" * 16,
        auth_token="charlie-token-00000000000000000000",
        from_number="+15005550007",
        status=TwilioAccount.Status.WORKING,
    )
    # Charlie's token, Charlie's AccountSid, but Alice's number as To.
    params = inbound_params(AccountSid="AC" + "cc" * 16)

    response = inbound(params, token="charlie-token-00000000000000000000")

    assert response.status_code == 403


def test_a_delivery_without_message_sid_is_400(sms_account: TwilioAccount) -> None:
    params = inbound_params()
    del params["MessageSid"]

    response = inbound(params)

    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_a_status_without_message_status_is_400(sms_account: TwilioAccount) -> None:
    params = status_params(message_sid(), "sent")
    del params["MessageStatus"]

    assert status(params).status_code == 400
    assert not InboundEvent.objects.exists()


def test_get_is_not_a_delivery(sms_account: TwilioAccount, client: Any) -> None:
    assert client.get("/webhooks/twilio/sms/").status_code == 405


@pytest.mark.promise("SEC-4")
def test_twilios_retry_of_a_text_is_stored_and_processed_once(sms_account: TwilioAccount) -> None:
    params = inbound_params("Is it still available?")

    first, retry = inbound(params), inbound(params)
    process_events()
    inbound(params)
    process_events()

    assert (first.status_code, retry.status_code) == (200, 200)
    assert InboundEvent.objects.count() == 1
    assert Message.objects.for_workspace(sms_account.workspace).count() == 1


def test_each_distinct_status_of_a_message_is_stored_once(sms_account: TwilioAccount) -> None:
    sid = message_sid()

    for name in ("sent", "delivered", "sent", "delivered"):
        assert status(status_params(sid, name)).status_code == 200
    status(status_params(sid, "undelivered", ErrorCode="30003"))

    assert sorted(InboundEvent.objects.values_list("external_id", flat=True)) == sorted(
        [f"{sid}:sent", f"{sid}:delivered", f"{sid}:undelivered:30003"]
    )


def test_a_status_is_signed_by_the_account_that_sent_from_the_number(
    sms_account: TwilioAccount,
) -> None:
    sid = message_sid()

    forged = status(status_params(sid, "delivered"), token="nope")
    unknown_sender = status(status_params(sid, "delivered", From="+15005559999"))

    assert (forged.status_code, unknown_sender.status_code) == (403, 403)
    assert not InboundEvent.objects.exists()


def test_a_messaging_service_pool_number_is_found_by_its_service(
    sms_account: TwilioAccount,
) -> None:
    service = "MG" + "ab" * 16
    TwilioAccount.objects.for_workspace(sms_account.workspace).filter(id=sms_account.id).update(
        messaging_service_sid=service
    )

    response = inbound(inbound_params(To="+15005550042", MessagingServiceSid=service))

    assert response.status_code == 200


def test_texts_and_statuses_skip_the_page_middleware(sms_account: TwilioAccount) -> None:
    sid = message_sid()
    answers = [inbound(inbound_params()), status(status_params(sid, "sent"))]

    for response in answers:
        assert response.status_code == 200
        assert not hasattr(response.wsgi_request, "session")  # sessions, auth, workspace: not run
        assert not hasattr(response.wsgi_request, "user")
        assert "X-Frame-Options" not in response
        assert "script-src 'self'" in response["Content-Security-Policy"]


def test_a_known_accounts_text_costs_one_statement_and_a_token_change_still_refuses_the_next(
    sms_account: TwilioAccount, django_assert_num_queries: Any
) -> None:
    assert inbound(inbound_params()).status_code == 200  # the token is read and kept

    with django_assert_num_queries(1):  # the INSERT checks the kept token is still the account's
        assert inbound(inbound_params()).status_code == 200
    TwilioAccount.objects.for_workspace(sms_account.workspace).filter(id=sms_account.id).update(
        auth_token="rotated-auth-token-2222222222222"
    )

    assert inbound(inbound_params()).status_code == 403
    assert inbound(inbound_params(), token="rotated-auth-token-2222222222222").status_code == 200
    assert InboundEvent.objects.count() == 3

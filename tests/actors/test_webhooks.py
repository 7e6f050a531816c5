"""Standard Webhooks signatures: the spec's own example, verification as a receiver does it."""

from __future__ import annotations

import pytest

from actors import webhooks
from actors.errors import InvalidValueError

# The example of standard-webhooks/standard-webhooks (spec and libraries' tests).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID, TIMESTAMP, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'


def test_the_signature_is_the_one_of_the_specification():
    assert webhooks.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_receiver_verifies_the_headers_of_an_attempt():
    headers = webhooks.headers(SECRET, MSG_ID, TIMESTAMP, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    upper = {k.title(): v for k, v in headers.items()}  # header names arrive in any case
    assert webhooks.verify(SECRET, upper, BODY, now=TIMESTAMP + 10) == MSG_ID


@pytest.mark.parametrize(("change", "field"), [
    (lambda h, b: (h, b + b" "), "webhook-signature"),  # another body
    (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), "webhook-signature"),  # another id
    (lambda h, b: ({**h, "webhook-timestamp": str(TIMESTAMP - 1000)}, b), "webhook-timestamp"),  # replayed later
    (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), "webhook-signature"),
])
def test_a_tampered_delivery_is_refused_naming_the_header(change, field):
    headers, body = change(webhooks.headers(SECRET, MSG_ID, TIMESTAMP, BODY), BODY)
    with pytest.raises(InvalidValueError) as caught:
        webhooks.verify(SECRET, headers, body, now=TIMESTAMP + 5)
    assert caught.value.field == field


def test_a_rotated_secret_is_accepted_among_several_signatures():
    new = webhooks.new_secret()
    headers = webhooks.headers(SECRET, MSG_ID, TIMESTAMP, BODY)
    headers["webhook-signature"] = webhooks.sign(new, MSG_ID, TIMESTAMP, BODY) + " " + headers["webhook-signature"]
    assert webhooks.verify(SECRET, headers, BODY, now=TIMESTAMP) == MSG_ID
    assert webhooks.verify(new, headers, BODY, now=TIMESTAMP) == MSG_ID
    with pytest.raises(InvalidValueError):
        webhooks.verify(webhooks.new_secret(), headers, BODY, now=TIMESTAMP)


def test_secrets_are_whsec_base64_and_malformed_ones_are_refused():
    made = webhooks.new_secret()
    assert made.startswith("whsec_") and len(webhooks.secret_key(made)) == webhooks.SECRET_BYTES
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(InvalidValueError) as caught:
            webhooks.secret_key(bad)
        assert caught.value.field == "secret" and caught.value.value == "***"  # never echoed


def test_an_unsigned_target_sends_id_and_timestamp_only():
    assert webhooks.headers("", MSG_ID, TIMESTAMP, BODY) == {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP)}
    assert webhooks.masked(SECRET) == "whsec_\u2026LaSw"

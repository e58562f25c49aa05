"""Credentials are sealed with AES-256-GCM; a wrong key or a changed value never opens."""

import base64

import pytest

from engine.secret_box import PREFIX, SecretBox, SecretBoxError, new_key_text


@pytest.fixture
def box():
    return SecretBox.from_key_text(new_key_text())


def test_a_sealed_value_opens_to_the_original(box):
    sealed = box.seal("whsec_c2VjcmV0")
    assert sealed.startswith(PREFIX)
    assert "whsec" not in sealed
    assert box.open(sealed) == "whsec_c2VjcmV0"


def test_sealing_twice_gives_different_ciphertexts(box):
    assert box.seal("same") != box.seal("same")


def test_another_key_cannot_open_it(box):
    other = SecretBox.from_key_text(new_key_text())
    with pytest.raises(SecretBoxError, match="does not open"):
        other.open(box.seal("whsec_x"))


def test_a_changed_value_cannot_open(box):
    sealed = box.seal("whsec_x")
    # Flip a bit of the sealed bytes themselves: editing a base64 character can land in the
    # padding bits and decode to the same bytes.
    raw = bytearray(base64.urlsafe_b64decode(sealed[len(PREFIX) :]))
    raw[-1] ^= 0x01
    tampered = PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(SecretBoxError):
        box.open(tampered)


def test_a_clear_value_in_the_database_is_refused(box):
    with pytest.raises(SecretBoxError, match="not encrypted"):
        box.open("whsec_plain")


@pytest.mark.parametrize("text", ["c2hvcnQ=", "not base64 !!"])
def test_keys_must_be_32_bytes_of_base64(text):
    with pytest.raises(SecretBoxError):
        SecretBox.from_key_text(text)

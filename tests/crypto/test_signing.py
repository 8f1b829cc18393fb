"""Ed25519 signing keys, C2SP verifier keys, context separation and the passphrase-sealed key file."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.crypto.signing import CONTEXTS, SigningKey, VerifyKey, canonical_json, distinct_valid, key_id
from examvault.errors import ExamvaultError, UnlockError, ValidationError

PASS = "correct horse battery"


@pytest.fixture(scope="module")
def key_file() -> tuple[SigningKey, str]:
    key = SigningKey.generate("printer-1")
    return key, key.file_text(PASS)


def _key_with_plus(name: str) -> SigningKey:
    for _ in range(200):
        key = SigningKey.generate(name)
        if "+" in str(key.verify_key).split("+", 2)[2]:
            return key
    raise AssertionError("no key with '+' in its base64 in 200 tries")  # p ≈ 2e-24


def test_vkey_round_trip() -> None:
    for name in ("wang", "printer-1", "examvault-1a2b3c4d", "考务"):
        vk = SigningKey.generate(name).verify_key
        assert VerifyKey.parse(str(vk)) == vk
        assert VerifyKey.parse(f"  {vk}\n") == vk


def test_vkey_round_trip_with_plus_in_base64() -> None:
    vk = _key_with_plus("zhao").verify_key
    text = str(vk)
    assert text.count("+") > 2
    assert VerifyKey.parse(text) == vk


def test_vkey_format_and_key_id() -> None:
    vk = SigningKey.generate("wang").verify_key
    name, kid, b64 = str(vk).split("+", 2)
    assert name == "wang"
    raw = base64.b64decode(b64)
    assert raw == b"\x01" + vk.public and len(raw) == 33
    expect = hashlib.sha256(b"wang" + b"\n" + b"\x01" + vk.public).digest()[:4].hex()
    assert kid == expect == vk.key_id == key_id("wang", vk.public).hex()
    assert kid == kid.lower() and len(kid) == 8


def test_vkey_rejects_mismatched_key_id_or_name() -> None:
    vk = SigningKey.generate("wang").verify_key
    _, kid, b64 = str(vk).split("+", 2)
    other_kid = f"{(int(kid, 16) ^ 1):08x}"
    for bad in (f"zhao+{kid}+{b64}", f"wang+{other_kid}+{b64}", f"wang+{kid}", f"wang {kid}+{b64}", f"+{kid}+{b64}",
                f"wang+{kid}+" + base64.b64encode(b"\x02" + vk.public).decode(),
                f"wang+{kid}+" + base64.b64encode(b"\x01" + vk.public[:31]).decode(), ""):
        with pytest.raises(ValidationError):
            VerifyKey.parse(bad)


def test_signing_key_names_are_checked() -> None:
    for bad in ("", "a b", "a+b", "tab\tname"):
        with pytest.raises(ValidationError):
            SigningKey.generate(bad)


def test_sign_and_verify() -> None:
    key = SigningKey.generate("wang")
    vk = key.verify_key
    sig = key.sign("approval", b"P2026-0001-A\nabc")
    assert set(sig) == {"signer", "key_id", "signature"}
    assert sig["signer"] == "wang" and sig["key_id"] == vk.key_id
    assert vk.verify("approval", b"P2026-0001-A\nabc", sig)
    assert not vk.verify("approval", b"P2026-0001-A\nabd", sig)
    # the raw signature is over context ‖ message
    assert vk.verify_raw(CONTEXTS["approval"] + b"P2026-0001-A\nabc", base64.b64decode(sig["signature"]))
    assert not vk.verify_raw(b"P2026-0001-A\nabc", base64.b64decode(sig["signature"]))
    # another key, or the record relabelled, does not verify
    other = SigningKey.generate("wang").verify_key
    assert not other.verify("approval", b"P2026-0001-A\nabc", sig)
    assert not vk.verify("approval", b"P2026-0001-A\nabc", sig | {"signer": "zhao"})
    assert not vk.verify("approval", b"P2026-0001-A\nabc", sig | {"key_id": "00000000"})
    assert not vk.verify("approval", b"P2026-0001-A\nabc", sig | {"signature": "not base64!"})
    assert not vk.verify("approval", b"P2026-0001-A\nabc", sig | {"signature": None})


@pytest.mark.parametrize("signed_as", list(CONTEXTS))
def test_context_separation(signed_as: str) -> None:
    key = SigningKey.generate("wang")
    msg = b"the same bytes"
    sig = key.sign(signed_as, msg)
    for ctx in CONTEXTS:
        assert key.verify_key.verify(ctx, msg, sig) == (ctx == signed_as)


def test_approval_signature_does_not_verify_as_manifest() -> None:
    key = SigningKey.generate("wang")
    sig = key.sign("approval", b"P1\ndigest")
    assert key.verify_key.verify("approval", b"P1\ndigest", sig)
    assert not key.verify_key.verify("manifest", b"P1\ndigest", sig)
    # nor by moving bytes between context and message
    assert not key.verify_key.verify("manifest", b"approval/v1\nP1\ndigest", sig)


def test_key_file_right_passphrase(key_file: tuple[SigningKey, str]) -> None:
    key, text = key_file
    doc = json.loads(text)
    assert doc["format"] == "examvault.sign-key/v1"
    assert doc["name"] == "printer-1" and doc["verify_key"] == str(key.verify_key)
    assert doc["kdf"]["kdf"] in ("argon2id", "scrypt")
    assert key.seed.hex() not in text and base64.b64encode(key.seed).decode() not in text
    opened = SigningKey.from_file_text(text, PASS)
    assert opened == key


def test_key_file_wrong_passphrase(key_file: tuple[SigningKey, str]) -> None:
    _, text = key_file
    with pytest.raises(UnlockError):
        SigningKey.from_file_text(text, PASS + "!")


def test_key_file_short_passphrase() -> None:
    with pytest.raises(UnlockError):
        SigningKey.generate("x").file_text("short")


def _tamper(text: str, field: str, value) -> str:
    doc = json.loads(text)
    doc[field] = value
    return json.dumps(doc)


def _flip_b64(b64: str, at: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[at] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def test_key_file_tampered(key_file: tuple[SigningKey, str]) -> None:
    key, text = key_file
    doc = json.loads(text)
    other = SigningKey.generate("printer-1")
    tampered = [
        _tamper(text, "sealed", _flip_b64(doc["sealed"], 20)),
        _tamper(text, "sealed", _flip_b64(doc["sealed"], -1)),
        _tamper(text, "salt", _flip_b64(doc["salt"], 0)),
        _tamper(text, "name", "printer-2"),
        _tamper(text, "verify_key", str(other.verify_key)),  # claim another public key
        _tamper(text, "sealed", doc["sealed"][:-8]),
        _tamper(text, "sealed", "@@@"),
        _tamper(text, "format", "examvault.sign-key/v0"),
        _tamper(text, "kdf", {"kdf": "none"}),
        text[: len(text) // 2],
        "[]",
    ]
    for bad in tampered:
        with pytest.raises(ExamvaultError):
            SigningKey.from_file_text(bad, PASS)


def test_distinct_valid_counts_a_signer_once() -> None:
    wang, zhao, li = SigningKey.generate("wang"), SigningKey.generate("zhao"), SigningKey.generate("li")
    keys = [wang.verify_key, zhao.verify_key, li.verify_key]
    msg = b"P1\nd"
    w = wang.sign("approval", msg)
    assert distinct_valid("approval", msg, [w, w], keys) == {"wang"}
    assert distinct_valid("approval", msg, [w, wang.sign("approval", msg)], keys) == {"wang"}
    assert distinct_valid("approval", msg, [w, zhao.sign("approval", msg)], keys) == {"wang", "zhao"}
    # wrong context, wrong message, unknown key, and a signature relabelled as another signer do not count
    assert distinct_valid("approval", msg, [w, zhao.sign("manifest", msg)], keys) == {"wang"}
    assert distinct_valid("approval", msg, [w, zhao.sign("approval", b"P1\ne")], keys) == {"wang"}
    assert distinct_valid("approval", msg, [w, SigningKey.generate("zhao").sign("approval", msg)], keys) == {"wang"}
    relabelled = w | {"signer": "zhao", "key_id": zhao.verify_key.key_id}
    assert distinct_valid("approval", msg, [w, relabelled], keys) == {"wang"}
    # a signer not among the keys does not count
    assert distinct_valid("approval", msg, [w, li.sign("approval", msg)], keys[:2]) == {"wang"}


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1, "试卷"]}) == '{"a":[1,"试卷"],"b":1}'.encode()


@given(st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_parse_arbitrary_text_only_raises_validation_error(text: str) -> None:
    try:
        vk = VerifyKey.parse(text)
    except ValidationError:
        return
    assert VerifyKey.parse(str(vk)) == vk


@given(
    name=st.text(min_size=0, max_size=12),
    kid=st.one_of(st.text(alphabet="0123456789abcdefABCDEF", max_size=10), st.text(max_size=10)),
    raw=st.binary(max_size=40),
    extra=st.text(max_size=6),
)
@settings(max_examples=300, deadline=None)
def test_parse_structured_garbage_only_raises_validation_error(name: str, kid: str, raw: bytes, extra: str) -> None:
    text = f"{name}+{kid}+{base64.b64encode(raw).decode()}{extra}"
    try:
        vk = VerifyKey.parse(text)
    except ValidationError:
        return
    assert VerifyKey.parse(str(vk)) == vk

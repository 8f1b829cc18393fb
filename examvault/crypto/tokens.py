"""Compact signed tokens for QR codes: staff badges now, admission tickets next.

    EV1.<base64url(canonical JSON)>.<base64url(Ed25519 signature)>

The signature is over the token context (see signing.CONTEXTS) and the JSON bytes, and
the JSON names its `kind`, so a badge never passes as a ticket. Verification needs only
the institution's verifier key: a door check works offline.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from examvault.crypto.signing import CONTEXTS, SigningKey, VerifyKey, canonical_json
from examvault.errors import IntegrityError, ValidationError

PREFIX = "EV1"


def _enc(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _dec(text: str) -> bytes:
    """Strict: one spelling per value. Lenient base64 (junk skipped, unused low bits ignored) would let
    one token be written many ways, and a scan log keyed on the text could be walked around."""
    raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if not text or _enc(raw) != text:
        raise ValueError
    return raw


def sign_token(key: SigningKey, kind: str, payload: Mapping[str, Any]) -> str:
    body = canonical_json({**payload, "kind": kind, "signer": key.name, "key_id": key.verify_key.key_id})
    return f"{PREFIX}.{_enc(body)}.{_enc(key.sign_raw(CONTEXTS['token'] + body))}"


def open_token(trusted: VerifyKey, token: str, kind: str) -> dict[str, Any]:
    """The payload of a token signed by `trusted`, of this kind; anything else is refused."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise ValidationError(f"not an examvault token ({PREFIX}.…): it may be cut short or from another system")
    try:
        body, sig = _dec(parts[1]), _dec(parts[2])
        payload = json.loads(body)
    except (ValueError, binascii.Error, RecursionError):
        raise ValidationError("the token's text is damaged (not base64url JSON)") from None
    if not isinstance(payload, dict):
        raise ValidationError("the token's content is not a JSON object")
    if not trusted.verify_raw(CONTEXTS["token"] + body, sig) or payload.get("key_id") != trusted.key_id:
        raise IntegrityError(f"the token is not signed by {trusted.name}: forged, altered or from another institution")
    if payload.get("kind") != kind:
        raise IntegrityError(f"the token is a {payload.get('kind')!r}, not a {kind!r}")
    return payload

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.crypto.envelope import canonical_aad, new_key, open_record, seal_record
from examvault.errors import IntegrityError

KEY = AESGCM(new_key())
fields_st = st.dictionaries(
    st.sampled_from(["stem", "options", "answer", "analysis", "media"]),
    st.one_of(st.none(), st.binary(max_size=300), st.text(max_size=100).map(str.encode)),
    min_size=1,
)


@given(fields=fields_st, record=st.uuids(), version=st.integers(1, 10**6), kv=st.integers(1, 1000))
@settings(max_examples=150, deadline=None)
def test_round_trip_for_arbitrary_content(fields, record, version, kv) -> None:
    wrapped, blobs = seal_record(KEY, "item", str(record), version, kv, fields)
    assert open_record(KEY, "item", str(record), version, kv, wrapped, blobs) == fields
    for name, value in fields.items():
        if value:
            assert value not in (blobs[name] or b"") or len(value) < 4  # no plaintext inside the blob


@given(a=st.lists(st.one_of(st.text(max_size=8), st.integers(0, 99)), max_size=5),
       b=st.lists(st.one_of(st.text(max_size=8), st.integers(0, 99)), max_size=5))
def test_canonical_aad_is_injective(a, b) -> None:
    norm = lambda parts: [str(p) for p in parts]  # noqa: E731 - ints encode as their decimal text
    if norm(a) != norm(b):
        assert canonical_aad(*a) != canonical_aad(*b)


def _sealed(record="r1", version=1, kv=1, fields=None):
    fields = fields or {"stem": "题干：电流互感器二次侧严禁开路。".encode(), "answer": "√".encode()}
    wrapped, blobs = seal_record(KEY, "item", record, version, kv, fields)
    return wrapped, blobs


def test_every_byte_flip_of_every_blob_is_an_integrity_error() -> None:
    wrapped, blobs = _sealed()
    targets = {"dek": wrapped, **{k: v for k, v in blobs.items() if v}}
    for name, blob in targets.items():
        for i in range(len(blob)):
            bad = bytearray(blob)
            bad[i] ^= 0x01
            w = bytes(bad) if name == "dek" else wrapped
            b = dict(blobs) | ({} if name == "dek" else {name: bytes(bad)})
            with pytest.raises(IntegrityError):
                open_record(KEY, "item", "r1", 1, 1, w, b)


def test_truncation_is_an_integrity_error() -> None:
    wrapped, blobs = _sealed()
    for cut in (0, 1, 12, len(blobs["stem"]) - 1):
        with pytest.raises(IntegrityError):
            open_record(KEY, "item", "r1", 1, 1, wrapped, {"stem": blobs["stem"][:cut]})


def test_swaps_between_records_fields_and_versions_fail() -> None:
    w1, b1 = _sealed("r1", 1)
    w2, b2 = _sealed("r2", 1)
    w1v2, b1v2 = _sealed("r1", 2)
    # another record's ciphertext, even with that record's wrapped key
    with pytest.raises(IntegrityError):
        open_record(KEY, "item", "r1", 1, 1, w2, b2)
    with pytest.raises(IntegrityError):
        open_record(KEY, "item", "r1", 1, 1, w1, {"stem": b2["stem"]})
    # the same record's other field
    with pytest.raises(IntegrityError):
        open_record(KEY, "item", "r1", 1, 1, w1, {"stem": b1["answer"]})
    # another version of the same record
    with pytest.raises(IntegrityError):
        open_record(KEY, "item", "r1", 1, 1, w1v2, b1v2)
    with pytest.raises(IntegrityError):
        open_record(KEY, "item", "r1", 1, 1, w1, {"stem": b1v2["stem"]})
    # relabelled with another key version, or read as another table
    with pytest.raises(IntegrityError):
        open_record(KEY, "item", "r1", 1, 2, w1, b1)
    with pytest.raises(IntegrityError):
        open_record(KEY, "candidate", "r1", 1, 1, w1, b1)
    # the untouched originals still open
    assert open_record(KEY, "item", "r1", 1, 1, w1, b1)["answer"] == "√".encode()


def test_wrong_domain_key_fails() -> None:
    wrapped, blobs = _sealed()
    with pytest.raises(IntegrityError):
        open_record(AESGCM(new_key()), "item", "r1", 1, 1, wrapped, blobs)


def test_nonces_are_fresh() -> None:
    seen = set()
    for _ in range(200):
        wrapped, blobs = _sealed()
        for blob in (wrapped, blobs["stem"]):
            nonce = blob[1:13]
            assert nonce not in seen
            seen.add(nonce)

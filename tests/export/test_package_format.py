"""The sealed package (.evp) against docs/package-format.md §2: the courier's check, the recipient's checks.

Every alteration must be refused. A courier (`verify`, holding only the institution's
verifier key) catches any change except to the header MAC line, which the outer signature
cannot cover (the MAC covers the signature stanza); the recipient (`open_package`) catches
that one with the header MAC.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from examvault.crypto import age
from examvault.crypto.age import CHUNK, Identity
from examvault.crypto.signing import CONTEXTS, SigningKey, canonical_json
from examvault.errors import ExamvaultError, IntegrityError
from examvault.export import package as pkg
from examvault.export.package import (
    PackageRejected,
    approval_message,
    check_manifest,
    fingerprint,
    open_package,
    seal,
    utc_text,
    verify,
)

NOW = datetime(2026, 12, 10, 8, 30, tzinfo=UTC)
NOT_BEFORE = NOW - timedelta(days=1)
EXPIRES = NOW + timedelta(days=10)
INSTITUTION = SigningKey.generate("examvault-1a2b3c4d")
TRUSTED = INSTITUTION.verify_key
ATTACKER = SigningKey.generate("mallory")
WANG, ZHAO = SigningKey.generate("wang"), SigningKey.generate("zhao")
PRINTER, PRINTER_B, STRANGER = Identity.generate(), Identity.generate(), Identity.generate()
CODE, DIGEST = "P2026-0001-A", hashlib.sha256(b"derivation of P2026-0001-A").hexdigest()
SMALL_FILES = {"P2026-0001-A_试卷.pdf": os.urandom(1000), "notes.txt": b"room 101: 30 copies\n" * 25}


def approval(key: SigningKey, *, name: str | None = None, code: str = CODE, digest: str = DIGEST) -> dict[str, Any]:
    return {"approver": name or key.name, "verify_key": str(key.verify_key), "signature": key.sign("approval", approval_message(code, digest))}


GOOD_APPROVALS = [approval(WANG), approval(ZHAO)]


def build(
    *,
    files: dict[str, bytes] | None = None,
    to: list[tuple[str, Identity]] | None = None,
    encrypt_to: list[Identity] | None = None,
    issuer: SigningKey = INSTITUTION,
    approvals: list[dict[str, Any]] | None = None,
    not_before: datetime = NOT_BEFORE,
    expires: datetime = EXPIRES,
    kind: str = "paper",
    release_key: bytes | None = None,
) -> bytes:
    """A package addressed (in its headers) to `to`, encrypted to `encrypt_to` (default: the same)."""
    to = [("printer-1", PRINTER)] if to is None else to
    encrypt_to = [i for _, i in to] if encrypt_to is None else encrypt_to
    package_id = str(uuid.uuid4())
    times = {"not_before": utc_text(not_before), "expires": utc_text(expires), "sealed_at": utc_text(NOW - timedelta(days=2))}
    outer = {
        "package_id": package_id, "kind": kind, "paper": CODE, "form": "A", "version": 3, **times,
        "recipients": [{"party": p, "fingerprint": fingerprint(i.recipient())} for p, i in to],
    }  # fmt: skip
    manifest = {
        "package_id": package_id, "kind": kind, "version": 3, "issuer": issuer.name, **times,
        "paper": {"id": str(uuid.uuid4()), "code": CODE, "form": "A", "title": "电工（四级）理论知识试卷", "digest": DIGEST},
        "recipients": [{"party": p, "role": "printer", "fingerprint": fingerprint(i.recipient())} for p, i in to],
        "copies": {"rooms": [{"site": "一中", "room": "101", "copies": 30}], "spares": 4, "total": 34},
        "approvals": GOOD_APPROVALS if approvals is None else approvals,
        "release": None,
    }  # fmt: skip
    out = io.BytesIO()
    sealed = seal(out, issuer=issuer, outer=outer, manifest=manifest, files=SMALL_FILES if files is None else files,
                  recipients=[i.recipient() for i in encrypt_to], release_key=release_key)  # fmt: skip
    data = out.getvalue()
    assert sealed.bytes == len(data)
    return data


def open_(data: bytes, identities: list[Identity] | None = None, now: datetime = NOW, **kw: Any) -> pkg.Opened:
    return open_package(data, trusted=TRUSTED, now=now, identities=[PRINTER] if identities is None else identities, **kw)


def split(data: bytes) -> tuple[age.Header, bytes]:
    header = age.parse_header(data)
    return header, data[header.length :]


def mac_line(data: bytes) -> range:
    """Byte positions of the "--- <MAC>\\n" line."""
    header = age.parse_header(data)
    return range(len(header.raw) - 3, header.length)


def resign(data: bytes, payload: bytes) -> bytes:
    """`data` with its payload replaced, re-signed by the institution and re-MACed (as only the
    issuer holding the file key could): so the recipient's own payload checks are what is tested."""
    header, _ = split(data)
    file_key = age.x25519_file_key(header, [PRINTER])
    prefix = header.raw[: header.stanza_offsets[-1]]
    sig = INSTITUTION.sign_raw(CONTEXTS["package-outer"] + prefix + hashlib.sha256(payload).digest())
    stanzas = [*header.stanzas[:-1], age.Stanza(pkg.SIG_STANZA, header.stanzas[-1].args, sig)]
    new_header = age.encode_header(stanzas, file_key)
    assert new_header[: len(prefix)] == prefix
    return new_header + payload


def seal_plain(data: bytes, plain: bytes, outer_changes: dict[str, Any] | None = None) -> bytes:
    """`data`'s headers (optionally changed) around another plaintext, signed by the institution."""
    header, _ = split(data)
    file_key = age.x25519_file_key(header, [PRINTER])
    stanzas = list(header.stanzas[:-1])
    if outer_changes:
        doc = json.loads(header.stanza(pkg.OUTER_STANZA).body) | outer_changes
        stanzas = [age.Stanza(s.type, s.args, canonical_json(doc)) if s.type == pkg.OUTER_STANZA else s for s in stanzas]
    prefix = age.VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas)
    payload = b"".join(age.encrypt_payload(file_key, [plain]))
    sig = INSTITUTION.sign_raw(CONTEXTS["package-outer"] + prefix + hashlib.sha256(payload).digest())
    return age.encode_header([*stanzas, age.Stanza(pkg.SIG_STANZA, header.stanzas[-1].args, sig)], file_key) + payload


def plaintext(data: bytes, identity: Identity = PRINTER) -> bytes:
    header, payload = split(data)
    return bytes(age.decrypt_payload_all(age.x25519_file_key(header, [identity]), payload))


def tar_of(members: list[tuple[str, bytes]]) -> bytes:
    return b"".join(bytes(x) for name, data in members for x in pkg._tar_member(name, data)) + bytes(1024)


def rejected(fn: Callable[[], Any], match: str | None = None) -> ExamvaultError:
    with pytest.raises(ExamvaultError, match=match) as info:
        fn()
    return info.value


@pytest.fixture(scope="module")
def small() -> bytes:
    return build()


@pytest.fixture(scope="module")
def large() -> tuple[bytes, bytes]:
    """A package whose payload spans more than 3 STREAM chunks."""
    big = os.urandom(3 * CHUNK + 5000)
    return build(files={"big.pdf": big}), big


# ---------------------------------------------------------------- the format, as the spec writes it


def test_control_a_good_package_opens(small: bytes) -> None:
    outer = verify(small, TRUSTED)
    assert outer.doc["format"] == "examvault.package/v1" and outer.doc["issuer"] == INSTITUTION.name
    opened = open_(small)
    assert opened.files == SMALL_FILES
    assert opened.recipient == fingerprint(PRINTER.recipient())
    assert opened.manifest["format"] == "examvault.manifest/v1"
    assert opened.manifest["files"] == [{"name": n, "bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in SMALL_FILES.items()]
    assert opened.outer["manifest_sha256"] == opened.manifest_sha256 == hashlib.sha256(canonical_json(opened.manifest)).hexdigest()


def test_layout_follows_the_spec(small: bytes) -> None:
    header, payload = split(small)
    assert [s.type for s in header.stanzas] == ["X25519", "examvault-package", "examvault-sig"]
    sig = header.stanzas[-1]
    assert sig.args == (INSTITUTION.name, TRUSTED.key_id) and len(sig.body) == 64
    # the outer signature, recomputed from the file's bytes as §2 words it
    at = small.index(b"\n-> examvault-sig ") + 1
    after_mac = small[small.index(b"\n", small.index(b"\n--- ") + 1) + 1 :]
    assert after_mac == payload
    message = b"examvault/package-outer/v1\n" + small[:at] + hashlib.sha256(after_mac).digest()
    assert TRUSTED.verify_raw(message, sig.body)
    assert json.loads(header.stanza("examvault-package").body) == verify(small, TRUSTED).doc
    assert header.stanza("examvault-package").body == canonical_json(verify(small, TRUSTED).doc)
    assert fingerprint(PRINTER.recipient()) == hashlib.sha256(str(PRINTER.recipient()).encode()).hexdigest()[:32]


def test_tar_layout(small: bytes) -> None:
    with tarfile.open(fileobj=io.BytesIO(plaintext(small)), mode="r:") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [*SMALL_FILES, "manifest.json", "manifest.sig"]
        assert all(m.isfile() and m.mtime == 0 and m.mode == 0o644 and m.uid == 0 and m.gid == 0 for m in members)
        inner = json.loads(tar.extractfile("manifest.sig").read())
        manifest = tar.extractfile("manifest.json").read()
    assert TRUSTED.verify("manifest", manifest, inner)
    assert manifest == canonical_json(json.loads(manifest))


@pytest.mark.skipif(shutil.which("age") is None, reason="the reference `age` CLI is not installed (needed for interop)")
def test_reference_age_opens_the_package(tmp_path: Path, small: bytes) -> None:
    (tmp_path / "printer.key").write_text(PRINTER.file_text())
    (tmp_path / "paper.evp").write_bytes(small)
    done = subprocess.run(
        [shutil.which("age"), "-d", "-i", str(tmp_path / "printer.key"), str(tmp_path / "paper.evp")], capture_output=True, timeout=30
    )
    assert done.returncode == 0, done.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(done.stdout), mode="r:") as tar:
        assert tar.getnames() == [*SMALL_FILES, "manifest.json", "manifest.sig"]
        for name, data in SMALL_FILES.items():
            assert tar.extractfile(name).read() == data


# ---------------------------------------------------------------- every byte


def test_every_bit_flip_is_rejected(small: bytes) -> None:
    assert len(small) < 12_000  # keep this loop fast
    mac = mac_line(small)
    passed_courier = []
    buf = bytearray(small)
    for i in range(len(small)):
        buf[i] ^= 0x01
        data = bytes(buf)
        buf[i] ^= 0x01
        try:
            open_(data)
        except ExamvaultError:
            pass
        else:
            raise AssertionError(f"open_package accepted the package with byte {i} flipped")
        try:
            verify(data, TRUSTED)
        except ExamvaultError:
            continue
        assert i in mac, f"the courier check accepted byte {i} flipped (outside the MAC line {mac})"
        passed_courier.append(i)
    # the MAC line is not covered by the outer signature (§2): some flips there pass the
    # courier; each of them is refused by the recipient's header-MAC check above
    assert passed_courier
    for i in passed_courier:
        buf = bytearray(small)
        buf[i] ^= 0x01
        rejected(lambda b=bytes(buf): open_(b), match="MAC")


# ---------------------------------------------------------------- the STREAM payload


def _chunks(payload: bytes) -> tuple[bytes, list[bytes]]:
    size = CHUNK + 16
    return payload[:16], [payload[16 + i : 16 + i + size] for i in range(0, len(payload) - 16, size)]


def payload_variants(data: bytes) -> dict[str, bytes]:
    header, payload = split(data)
    nonce, chunks = _chunks(payload)
    assert len(chunks) >= 4 and all(len(c) == CHUNK + 16 for c in chunks[:-1])
    swapped = [chunks[1], chunks[0], *chunks[2:]]
    return {
        "truncated": payload[:-100],
        "truncated-one-byte": payload[:-1],
        "missing-final-chunk": nonce + b"".join(chunks[:-1]),
        "trailing-garbage": payload + b"\x00",
        "trailing-chunk": payload + chunks[1],
        "reordered": nonce + b"".join(swapped),
        "last-two-reordered": nonce + b"".join([*chunks[:-3], chunks[-2], chunks[-3], chunks[-1]]),
    }


def test_control_large_package_opens(large: tuple[bytes, bytes]) -> None:
    data, big = large
    assert open_(data).files == {"big.pdf": big}
    assert open_(resign(data, split(data)[1])).files == {"big.pdf": big}  # the re-signing helper is faithful


@pytest.mark.parametrize(
    "variant", ["truncated", "truncated-one-byte", "missing-final-chunk", "trailing-garbage", "trailing-chunk", "reordered", "last-two-reordered"]
)
def test_payload_damage_is_rejected(large: tuple[bytes, bytes], variant: str) -> None:
    data, _ = large
    header, _ = split(data)
    altered = data[: header.length] + payload_variants(data)[variant]
    # the courier sees it (the outer signature covers the whole ciphertext) …
    rejected(lambda: verify(altered, TRUSTED), match="outer signature")
    rejected(lambda: open_(altered), match="outer signature")
    # … and the recipient's own STREAM checks see it even under a valid outer signature
    resigned = resign(data, payload_variants(data)[variant])
    verify(resigned, TRUSTED)
    err = rejected(lambda: open_(resigned))
    assert isinstance(err, PackageRejected) and "payload" in str(err)


# ---------------------------------------------------------------- recipients and issuers


def test_wrong_identity_names_the_addressed_party(small: bytes) -> None:
    err = rejected(lambda: open_(small, identities=[STRANGER]))
    assert isinstance(err, PackageRejected)
    assert "printer-1" in str(err)
    rejected(lambda: open_(small, identities=[]), match="printer-1")
    assert open_(small, identities=[STRANGER, PRINTER]).files == SMALL_FILES


def test_two_recipients_each_open() -> None:
    data = build(to=[("printer-1", PRINTER), ("printer-2", PRINTER_B)])
    assert open_(data, identities=[PRINTER]).recipient == fingerprint(PRINTER.recipient())
    assert open_(data, identities=[PRINTER_B]).recipient == fingerprint(PRINTER_B.recipient())
    rejected(lambda: open_(data, identities=[STRANGER]), match="printer-1, printer-2")


def test_reencrypted_by_a_recipient_is_rejected(small: bytes) -> None:
    """Printer A opens its package and re-addresses the same plaintext to printer B."""
    header, payload = split(small)
    file_key = age.x25519_file_key(header, [PRINTER])
    plain = bytes(age.decrypt_payload_all(file_key, payload))
    new_key = os.urandom(16)
    stanzas = [age.x25519_stanza(PRINTER_B.recipient(), new_key), header.stanza(pkg.OUTER_STANZA)]
    prefix = age.VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas)
    new_payload = b"".join(age.encrypt_payload(new_key, [plain]))
    message = CONTEXTS["package-outer"] + prefix + hashlib.sha256(new_payload).digest()
    forgeries = {
        # keeps the institution's signature
        "old-signature": [*stanzas, header.stanzas[-1]],
        # signs with its own key under the institution's name and key id
        "forged-signature": [*stanzas, age.Stanza(pkg.SIG_STANZA, header.stanzas[-1].args, ATTACKER.sign_raw(message))],
        # signs openly with its own key
        "own-signature": [*stanzas, age.Stanza(pkg.SIG_STANZA, (ATTACKER.name, ATTACKER.verify_key.key_id), ATTACKER.sign_raw(message))],
    }
    for stanza_list in forgeries.values():
        data = age.encode_header(stanza_list, new_key) + new_payload
        assert age.decrypt(data, [PRINTER_B]) == plain  # a well-formed age file to B
        rejected(lambda d=data: verify(d, TRUSTED))
        rejected(lambda d=data: open_(d, identities=[PRINTER_B]))
    # the same manifest sealed to B by an attacker acting as issuer
    attacker_pkg = build(encrypt_to=[PRINTER_B], issuer=ATTACKER)
    rejected(lambda: verify(attacker_pkg, TRUSTED), match="not by the trusted key")
    rejected(lambda: open_(attacker_pkg, identities=[PRINTER_B]))


def test_manifest_must_name_the_opening_recipient(small: bytes) -> None:
    """Step 6: a package the institution signed, but encrypted to someone its headers do not name."""
    data = build(to=[("printer-1", PRINTER)], encrypt_to=[PRINTER_B])
    verify(data, TRUSTED)
    rejected(lambda: open_(data, identities=[PRINTER_B]), match="does not name this recipient")


def test_check_manifest_directly(small: bytes) -> None:
    opened = open_(small)
    check_manifest(opened.manifest, opened.outer, fingerprint(PRINTER.recipient()))
    check_manifest(opened.manifest, opened.outer, None)  # released by shares: no recipient to match
    with pytest.raises(PackageRejected, match="does not name this recipient"):
        check_manifest(opened.manifest, opened.outer, fingerprint(PRINTER_B.recipient()))
    for key, value in (("package_id", str(uuid.uuid4())), ("version", 4), ("kind", "marking-key"), ("issuer", "someone"),
                       ("expires", "2027-01-01T00:00:00Z"), ("paper", "P2026-0002-A"),
                       ("recipients", [{"party": "printer-2", "fingerprint": fingerprint(PRINTER_B.recipient())}])):  # fmt: skip
        with pytest.raises(PackageRejected, match="disagree"):
            check_manifest(opened.manifest, opened.outer | {key: value}, fingerprint(PRINTER.recipient()))
    with pytest.raises(PackageRejected):
        check_manifest(opened.manifest | {"format": "examvault.manifest/v0"}, opened.outer, None)


def test_attacker_signed_package_is_rejected() -> None:
    data = build(issuer=ATTACKER)
    assert open_package(data, trusted=ATTACKER.verify_key, now=NOW, identities=[PRINTER]).files == SMALL_FILES  # control
    rejected(lambda: verify(data, TRUSTED), match="mallory")
    rejected(lambda: open_(data))
    impostor = SigningKey.generate(INSTITUTION.name)  # the institution's name, another key
    data = build(issuer=impostor)
    rejected(lambda: verify(data, TRUSTED))
    rejected(lambda: open_(data))


def test_signature_stanza_removed_is_rejected(small: bytes) -> None:
    plain_age = age.encrypt(plaintext(small), [PRINTER.recipient()])
    rejected(lambda: verify(plain_age, TRUSTED), match="no institution signature")
    rejected(lambda: open_(plain_age), match="no institution signature")
    # the package's own header with the signature stanza cut out (and a fresh MAC)
    header, payload = split(small)
    file_key = age.x25519_file_key(header, [PRINTER])
    unsigned = age.encode_header(header.stanzas[:-1], file_key) + payload
    assert age.decrypt(unsigned, [PRINTER]) == plaintext(small)
    rejected(lambda: verify(unsigned, TRUSTED), match="no institution signature")
    # a signature stanza that is not the last one
    moved = age.encode_header([header.stanzas[-1], *header.stanzas[:-1]], file_key) + payload
    rejected(lambda: verify(moved, TRUSTED))
    # two signature stanzas
    doubled = age.encode_header([*header.stanzas, header.stanzas[-1]], file_key) + payload
    rejected(lambda: verify(doubled, TRUSTED))


def test_not_an_age_file() -> None:
    for data in (b"", b"hello", b"age-encryption.org/v1\n", os.urandom(2000)):
        rejected(lambda d=data: verify(d, TRUSTED))


# ---------------------------------------------------------------- time window


def test_time_window(small: bytes) -> None:
    rejected(lambda: open_(small, now=NOT_BEFORE - timedelta(seconds=1)), match="before")
    rejected(lambda: open_(small, now=EXPIRES + timedelta(seconds=1)), match="expired")
    assert open_(small, now=NOT_BEFORE).files == SMALL_FILES
    assert open_(small, now=EXPIRES).files == SMALL_FILES


def test_not_yet_valid_and_expired_packages() -> None:
    early = build(not_before=NOW + timedelta(hours=1), expires=NOW + timedelta(days=1))
    late = build(not_before=NOW - timedelta(days=20), expires=NOW - timedelta(hours=1))
    verify(early, TRUSTED), verify(late, TRUSTED)  # a courier may still carry them
    rejected(lambda: open_(early), match="may not be opened before")
    rejected(lambda: open_(late), match="expired")


# ---------------------------------------------------------------- approvals


def test_approvals_control() -> None:
    assert open_(build(approvals=[approval(ZHAO), approval(WANG)])).files == SMALL_FILES


@pytest.mark.parametrize(
    "approvals",
    [
        [],
        [approval(WANG)],
        [approval(WANG), approval(WANG)],  # the same approver twice counts once
        [approval(WANG), approval(WANG, name="zhao")],  # wang's key under zhao's name
        [approval(WANG), approval(SigningKey.generate("wang"))],  # another key named wang
        [approval(WANG), approval(ZHAO, digest=hashlib.sha256(b"another paper").hexdigest())],
        [approval(WANG), approval(ZHAO, code="P2026-0001-B")],
        [approval(WANG), approval(ZHAO) | {"signature": ZHAO.sign("manifest", approval_message(CODE, DIGEST))}],
        [approval(WANG), approval(ZHAO) | {"verify_key": "zhao+00000000+AAAA"}],
        [approval(WANG), approval(ZHAO) | {"signature": WANG.sign("approval", approval_message(CODE, DIGEST))}],
    ],
    ids=["none", "one", "same-twice", "borrowed-name", "same-name-other-key", "other-digest", "other-code",
         "wrong-context", "bad-vkey", "signature-of-another"],  # fmt: skip
)
def test_too_few_distinct_approvals(approvals: list[dict[str, Any]]) -> None:
    data = build(approvals=approvals)
    verify(data, TRUSTED)
    rejected(lambda: open_(data), match="approval")


# ---------------------------------------------------------------- inside the payload (re-signed by the issuer)


def _members(data: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(plaintext(data)), mode="r:") as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]


def test_contents_must_match_the_manifest(small: bytes) -> None:
    members = _members(small)
    assert open_(seal_plain(small, tar_of(members))).files == SMALL_FILES  # control
    files, signed = members[:-2], members[-2:]  # the files, then manifest.json and manifest.sig
    cases = {
        "unlisted file": [*files, ("extra.txt", b"x"), *signed],
        "missing file": [*files[1:], *signed],
        "altered file": [(files[0][0], files[0][1] + b"!"), *files[1:], *signed],
        "duplicate file": [files[0], *files, *signed],
        "no signature": members[:-1],
        "manifest first": [*signed, *files],
        "path": [("../escape.txt", b"x"), *members],
        "not a tar": None,
    }
    for what, content in cases.items():
        plain = os.urandom(3000) if content is None else tar_of(content)
        err = rejected(lambda p=plain: open_(seal_plain(small, p)))
        assert isinstance(err, PackageRejected), what


def test_manifest_must_be_the_one_the_outer_header_names(small: bytes) -> None:
    members = _members(small)
    files, (manifest_member, sig_member) = members[:-2], members[-2:]
    manifest = json.loads(manifest_member[1])
    changed = canonical_json(manifest | {"version": 4})
    # the outer header still names the original manifest
    resealed = seal_plain(small, tar_of([*files, ("manifest.json", changed), sig_member]))
    rejected(lambda: open_(resealed), match="outer header names")
    # the outer header names the changed manifest, but its inner signature is over the original
    resealed = seal_plain(small, tar_of([*files, ("manifest.json", changed), sig_member]),
                          {"manifest_sha256": hashlib.sha256(changed).hexdigest(), "version": 4})  # fmt: skip
    rejected(lambda: open_(resealed), match="inner signature")
    # an inner signature by another key
    forged = canonical_json(ATTACKER.sign("manifest", manifest_member[1]))
    rejected(lambda: open_(seal_plain(small, tar_of([*files, manifest_member, ("manifest.sig", forged)]))), match="inner signature")
    # the institution's key, but over the manifest as an approval (wrong context)
    wrong_ctx = canonical_json(INSTITUTION.sign("approval", manifest_member[1]))
    rejected(lambda: open_(seal_plain(small, tar_of([*files, manifest_member, ("manifest.sig", wrong_ctx)]))), match="inner signature")


# ---------------------------------------------------------------- release key (electronic papers)


def test_release_key() -> None:
    key = os.urandom(32)
    data = build(kind="electronic", release_key=key)
    header, _ = split(data)
    assert [s.type for s in header.stanzas] == ["X25519", "examvault-release", "examvault-package", "examvault-sig"]
    assert header.stanza("examvault-release").args == (verify(data, TRUSTED).package_id,)
    opened = open_package(data, trusted=TRUSTED, now=NOW, identities=None, release_key=key)
    assert opened.files == SMALL_FILES and opened.recipient is None
    with pytest.raises(IntegrityError):
        open_package(data, trusted=TRUSTED, now=NOW, identities=None, release_key=os.urandom(32))
    with pytest.raises(IntegrityError):  # nor a key for another package
        open_package(data, trusted=TRUSTED, now=NOW, identities=[STRANGER], release_key=bytes(32))
    # still not before its time
    rejected(lambda: open_package(data, trusted=TRUSTED, now=NOT_BEFORE - timedelta(minutes=1), release_key=key), match="before")
    # the printer it is also addressed to opens it as usual
    assert open_(data).files == SMALL_FILES


def test_release_key_on_a_package_without_one(small: bytes) -> None:
    rejected(lambda: open_package(small, trusted=TRUSTED, now=NOW, identities=None, release_key=os.urandom(32)), match="release key")

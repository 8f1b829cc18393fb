"""The sealed package (.evp): sign, encrypt, sign. Pure format code; docs/package-format.md is its spec.

A package is an age v1 file. Its header carries, besides one X25519 stanza per recipient,
the outer header (what a courier may know) and the institution's outer signature over
the header and the ciphertext. Inside, a tar holds the signed manifest and the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from examvault.crypto import age
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json, distinct_valid
from examvault.errors import IntegrityError, ValidationError

PACKAGE_FORMAT = "examvault.package/v1"
MANIFEST_FORMAT = "examvault.manifest/v1"
KINDS = ("paper", "marking-key", "electronic")
OUTER_STANZA = "examvault-package"
SIG_STANZA = "examvault-sig"
RELEASE_STANZA = "examvault-release"
RELEASE_LABEL = b"examvault/release/v1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
APPROVALS_NEEDED = 2
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class PackageRejected(IntegrityError):
    """The package failed a check; the message says which, never what is inside."""


def utc_text(when: datetime) -> str:
    return when.astimezone(UTC).strftime(_TIME)


def parse_time(text: Any, what: str) -> datetime:
    try:
        return datetime.strptime(str(text), _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise PackageRejected(f"{what} is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)") from None


def fingerprint(recipient: age.Recipient | str) -> str:
    return hashlib.sha256(str(recipient).encode()).hexdigest()[:32]


def approval_message(paper_code: str, paper_digest: str) -> bytes:
    return f"{paper_code}\n{paper_digest}".encode()


# ---------------------------------------------------------------- sealing


def _tar_member(name: str, data: bytes | memoryview) -> Iterator[bytes | memoryview]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = len(data), 0, 0o644, 0, 0, "", ""
    yield info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")
    yield data
    if len(data) % tarfile.BLOCKSIZE:
        yield bytes(tarfile.BLOCKSIZE - len(data) % tarfile.BLOCKSIZE)


def _tar(members: list[tuple[str, bytes | memoryview]]) -> Iterator[bytes | memoryview]:
    """A pax tar, streamed member by member so a large file is not copied into an archive first."""
    for name, data in members:
        yield from _tar_member(name, data)
    yield bytes(2 * tarfile.BLOCKSIZE)


def check_file_name(name: str) -> str:
    path = PurePosixPath(name)
    if not name or "\\" in name or path.is_absolute() or len(path.parts) != 1 or name in (".", "..", MANIFEST_NAME, SIGNATURE_NAME):
        raise ValidationError(f"file name {name!r} cannot go into a package (plain names only, no folders)")
    return name


@dataclass(frozen=True)
class Sealed:
    payload_sha256: str  # with the package id, names this very file: receipts quote it
    bytes: int
    manifest_sha256: str


def seal(
    out: BinaryIO,
    *,
    issuer: SigningKey,
    outer: Mapping[str, Any],
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    recipients: list[age.Recipient],
    release_key: bytes | None = None,
) -> Sealed:
    """Write a package to the seekable `out`. `outer` and `manifest` are completed here with their binding fields."""
    for name in files:
        check_file_name(name)
    manifest_doc = dict(manifest) | {
        "format": MANIFEST_FORMAT,
        "files": [{"name": n, "bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()],
    }
    manifest_bytes = canonical_json(manifest_doc)
    inner = canonical_json(issuer.sign("manifest", manifest_bytes))
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    outer_doc = dict(outer) | {"format": PACKAGE_FORMAT, "issuer": issuer.name, "manifest_sha256": manifest_sha}

    file_key = os.urandom(16)
    stanzas = [age.x25519_stanza(r, file_key) for r in recipients]
    if release_key is not None:
        stanzas.append(age.Stanza(RELEASE_STANZA, (str(outer_doc["package_id"]),),
                                  age.wrap_with_key(release_key, str(outer_doc["package_id"]).encode(), RELEASE_LABEL, file_key)))  # fmt: skip
    stanzas.append(age.Stanza(OUTER_STANZA, (), canonical_json(outer_doc)))
    prefix = age.VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas)
    sig_args = (issuer.name, issuer.verify_key.key_id)
    # The header's length does not depend on the signature's value: reserve it, write the
    # payload after it, then write the real header once the payload's hash is known.
    placeholder = age.encode_header([*stanzas, age.Stanza(SIG_STANZA, sig_args, bytes(64))], file_key)
    start = out.tell()
    out.seek(start + len(placeholder))
    digest = hashlib.sha256()
    size = len(placeholder)
    members = [(MANIFEST_NAME, manifest_bytes), (SIGNATURE_NAME, inner), *files.items()]
    for piece in age.encrypt_payload(file_key, _tar(members)):
        digest.update(piece)
        out.write(piece)
        size += len(piece)
    signature = issuer.sign_raw(_outer_message(prefix, digest.digest()))
    header = age.encode_header([*stanzas, age.Stanza(SIG_STANZA, sig_args, signature)], file_key)
    assert len(header) == len(placeholder)
    end = out.tell()
    out.seek(start)
    out.write(header)
    out.seek(end)
    return Sealed(digest.hexdigest(), size, manifest_sha)


def _outer_message(prefix: bytes, payload_sha256: bytes) -> bytes:
    from examvault.crypto.signing import CONTEXTS

    return CONTEXTS["package-outer"] + prefix + payload_sha256


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Outer:
    """What anyone holding the institution's verifier key learns from a package, unopened."""

    header: age.Header
    doc: dict[str, Any]
    payload: memoryview
    payload_sha256: str

    @property
    def package_id(self) -> str:
        return str(self.doc["package_id"])


def verify(data: bytes | memoryview, trusted: VerifyKey) -> Outer:
    """The courier's check: the outer signature over the header and the whole ciphertext."""
    view = memoryview(data)
    try:
        header = age.parse_header(bytes(view[: _header_end(view)]))
    except age.AgeError as exc:
        raise PackageRejected(f"not a sealed package: {exc}") from None
    if not header.stanzas or header.stanzas[-1].type != SIG_STANZA:
        raise PackageRejected("the package carries no institution signature (an age file, but not sealed by examvault)")
    sig = header.stanzas[-1]
    if sig.args != (trusted.name, trusted.key_id) or len(sig.body) != 64:
        raise PackageRejected(f"the package is signed by {'+'.join(sig.args) or 'nobody'}, not by the trusted key {trusted.name}+{trusted.key_id}")
    if sum(s.type == SIG_STANZA for s in header.stanzas) != 1:
        raise PackageRejected("the package carries more than one outer signature")
    payload = view[header.length :]
    prefix = header.raw[: header.stanza_offsets[-1]]
    payload_sha = hashlib.sha256(payload).digest()
    if not trusted.verify_raw(_outer_message(prefix, payload_sha), sig.body):
        raise PackageRejected("the outer signature does not verify: the package was altered, truncated or re-addressed")
    try:
        outer_stanza = header.stanza(OUTER_STANZA)
    except age.AgeError as exc:
        raise PackageRejected(str(exc)) from None
    if outer_stanza is None:
        raise PackageRejected("the package has no outer header")
    try:
        doc = json.loads(outer_stanza.body)
        if doc.get("format") != PACKAGE_FORMAT or doc.get("kind") not in KINDS:
            raise ValueError
    except (ValueError, AttributeError):
        raise PackageRejected(f"the outer header is not {PACKAGE_FORMAT}") from None
    return Outer(header, doc, payload, payload_sha.hex())


def _header_end(view: memoryview) -> int:
    """Bytes up to the end of the MAC line (the header is small; the payload may be large)."""
    probe = bytes(view[: 1 << 16])
    at = probe.find(b"\n--- ")
    if at < 0:
        raise PackageRejected("not a sealed package: the age header is truncated or too large")
    end = probe.find(b"\n", at + 1)
    return len(probe) if end < 0 else end + 1


def check_window(doc: Mapping[str, Any], now: datetime) -> None:
    not_before, expires = parse_time(doc.get("not_before"), "not_before"), parse_time(doc.get("expires"), "expires")
    if now < not_before:
        raise PackageRejected(f"package {doc.get('package_id')} may not be opened before {doc['not_before']} (UTC)")
    if now > expires:
        raise PackageRejected(f"package {doc.get('package_id')} expired at {doc['expires']} (UTC)")


@dataclass(frozen=True)
class Opened:
    outer: dict[str, Any]
    manifest: dict[str, Any]
    manifest_sha256: str
    files: dict[str, bytes]
    recipient: str | None  # the fingerprint it was opened as; None when released by shares
    payload_sha256: str


def file_key_for(outer: Outer, identities: list[age.Identity] | None, release_key: bytes | None) -> tuple[bytes, str | None]:
    if release_key is not None:
        try:
            stanza = outer.header.stanza(RELEASE_STANZA)
        except age.AgeError as exc:
            raise PackageRejected(str(exc)) from None
        if stanza is None:
            raise PackageRejected(f"package {outer.package_id} is not an electronic paper: it has no release key")
        try:
            return age.unwrap_with_key(release_key, outer.package_id.encode(), RELEASE_LABEL, stanza.body), None
        except age.AgeError as exc:
            raise PackageRejected(str(exc)) from None
    for identity in identities or []:
        try:
            return age.x25519_file_key(outer.header, [identity]), fingerprint(identity.recipient())
        except age.NoIdentityMatches:
            continue
    named = ", ".join(str(r.get("party")) for r in outer.doc.get("recipients", []))
    raise PackageRejected(f"package {outer.package_id} is addressed to {named or 'someone else'}, not to this identity")


def open_package(
    data: bytes | memoryview,
    *,
    trusted: VerifyKey,
    now: datetime,
    identities: list[age.Identity] | None = None,
    release_key: bytes | None = None,
) -> Opened:
    """Every check of docs/package-format.md §2 except replay, which needs the recipient's state."""
    outer = verify(data, trusted)
    check_window(outer.doc, now)
    file_key, mine = file_key_for(outer, identities, release_key)
    try:
        age.check_mac(outer.header, file_key)
        plain = age.decrypt_payload_all(file_key, outer.payload)
    except age.AgeError as exc:
        raise PackageRejected(str(exc)) from None
    members = _untar(plain)
    manifest_bytes = members.pop(MANIFEST_NAME, None)
    sig_bytes = members.pop(SIGNATURE_NAME, None)
    if manifest_bytes is None or sig_bytes is None:
        raise PackageRejected("the package holds no signed manifest")
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    if manifest_sha != outer.doc.get("manifest_sha256"):
        raise PackageRejected("the manifest inside is not the one the outer header names (the package was re-sealed)")
    try:
        inner = json.loads(sig_bytes)
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise PackageRejected("the manifest or its signature is not JSON") from None
    if not isinstance(inner, dict) or not trusted.verify("manifest", manifest_bytes, inner):
        raise PackageRejected("the manifest's inner signature is not the institution's")
    check_manifest(manifest, outer.doc, mine)
    _check_files(manifest, members)
    return Opened(outer.doc, manifest, manifest_sha, members, mine, outer.payload_sha256)


def check_manifest(manifest: Mapping[str, Any], outer: Mapping[str, Any], mine: str | None) -> None:
    """The signed manifest must agree with the outer header, name this recipient, and carry two approvals."""
    if manifest.get("format") != MANIFEST_FORMAT:
        raise PackageRejected(f"the manifest is not {MANIFEST_FORMAT}")
    for key in ("package_id", "kind", "version", "not_before", "expires", "issuer"):
        if manifest.get(key) != outer.get(key):
            raise PackageRejected(f"the manifest and the outer header disagree on {key}")
    paper = manifest.get("paper") or {}
    if paper.get("code") != outer.get("paper") or paper.get("form") != outer.get("form"):
        raise PackageRejected("the manifest and the outer header disagree on the paper")
    addressed = {r.get("fingerprint") for r in manifest.get("recipients", [])}
    if addressed != {r.get("fingerprint") for r in outer.get("recipients", [])}:
        raise PackageRejected("the manifest and the outer header disagree on the recipients")
    if mine is not None and mine not in addressed:
        raise PackageRejected("the manifest does not name this recipient: the package was re-encrypted by someone it was sealed to")
    check_approvals(manifest)


def check_approvals(manifest: Mapping[str, Any]) -> None:
    paper = manifest.get("paper") or {}
    message = approval_message(str(paper.get("code")), str(paper.get("digest")))
    keys, sigs = [], []
    for entry in manifest.get("approvals", []):
        try:
            vk = VerifyKey.parse(str(entry["verify_key"]))
        except (ValidationError, KeyError, TypeError):
            continue
        if vk.name == entry.get("approver"):
            keys.append(vk)
            sigs.append(entry.get("signature") or {})
    approvers = distinct_valid("approval", message, sigs, keys)
    if len(approvers) < APPROVALS_NEEDED:
        raise PackageRejected(
            f"the paper carries {len(approvers)} valid approval signature(s) by distinct approvers; {APPROVALS_NEEDED} are required"
        )


class _ViewReader:
    """The read/seek/tell tarfile needs, over a buffer, without copying it into a BytesIO."""

    def __init__(self, view: memoryview) -> None:
        self.view, self.pos = view, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.view) if size is None or size < 0 else min(len(self.view), self.pos + size)
        out = bytes(self.view[self.pos : end])
        self.pos = max(self.pos, end)
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = max(0, pos + (0, self.pos, len(self.view))[whence])
        return self.pos

    def tell(self) -> int:
        return self.pos


def _untar(plain: bytes | bytearray) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    view = memoryview(plain)
    try:
        with tarfile.open(fileobj=_ViewReader(view), mode="r:") as tar:  # type: ignore[arg-type]
            for n, member in enumerate(tar):
                if (n < 2) != (member.name in (MANIFEST_NAME, SIGNATURE_NAME)):
                    raise PackageRejected(f"the package's archive does not start with {MANIFEST_NAME} and {SIGNATURE_NAME}")
                if not member.isfile():
                    raise PackageRejected(f"the package holds {member.name!r}, which is not a plain file")
                if member.name in out:
                    raise PackageRejected(f"the package holds {member.name!r} twice")
                if member.name not in (MANIFEST_NAME, SIGNATURE_NAME):
                    try:
                        check_file_name(member.name)
                    except ValidationError as exc:
                        raise PackageRejected(str(exc)) from None
                end = member.offset_data + member.size
                if end > len(view):
                    raise PackageRejected("the package's contents are not a valid archive")
                out[member.name] = bytes(view[member.offset_data : end])  # the one copy; the buffer itself is not kept
    except tarfile.TarError:
        raise PackageRejected("the package's contents are not a valid archive") from None
    return out


def _check_files(manifest: Mapping[str, Any], members: dict[str, bytes]) -> None:
    listed = {str(f.get("name")): f for f in manifest.get("files", [])}
    if set(listed) != set(members):
        extra, missing = sorted(set(members) - set(listed)), sorted(set(listed) - set(members))
        raise PackageRejected(f"the files do not match the manifest (unlisted: {extra}, missing: {missing})")
    for name, data in members.items():
        if len(data) != listed[name].get("bytes") or hashlib.sha256(data).hexdigest() != listed[name].get("sha256"):
            raise PackageRejected(f"{name} does not match its SHA-256 in the manifest")

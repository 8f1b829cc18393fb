"""The sealed package (.evp): sign, encrypt, sign. Pure format code; docs/package-format.md is its spec.

A package is an age v1 file. Its header carries, besides one X25519 stanza per recipient,
the outer header (what a courier may know) and the institution's outer signature over
the header and the ciphertext. Inside, a tar holds the signed manifest and the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from examvault.crypto import age
from examvault.crypto.signing import CONTEXTS, SigningKey, VerifyKey, canonical_json, distinct_valid
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
    files: list[dict[str, Any]]  # as the manifest lists them: name, bytes, sha256


class _PayloadWriter:
    """Hashes and writes ciphertext chunks in a thread of its own. hashlib and file writes release
    the GIL, so both overlap the encryption in the calling thread."""

    def __init__(self, out: BinaryIO) -> None:
        self.out, self.digest, self.size = out, hashlib.sha256(), 0
        self.error: BaseException | None = None
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self.thread = threading.Thread(target=self._run, name="evp-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (piece := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.digest.update(piece)
                    self.out.write(piece)
                    self.size += len(piece)
                except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                    self.error = exc

    def write(self, piece: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(piece)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


def _in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    """Start `work` now; the returned function waits for its result (or raises its error)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - raised again by the waiter
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return wait


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
    """Write a package to the seekable `out`. `outer` and `manifest` are completed here with their binding fields.

    The files go into the archive first and the signed manifest last, so their hashes are
    computed in a thread while they are being encrypted."""
    for name in files:
        check_file_name(name)
    file_hashes = _in_thread(lambda: [hashlib.sha256(d).hexdigest() for d in files.values()])
    file_key = os.urandom(16)
    stanzas = [age.x25519_stanza(r, file_key) for r in recipients]
    if release_key is not None:
        stanzas.append(age.Stanza(RELEASE_STANZA, (str(outer["package_id"]),),
                                  age.wrap_with_key(release_key, str(outer["package_id"]).encode(), RELEASE_LABEL, file_key)))  # fmt: skip
    sig_args = (issuer.name, issuer.verify_key.key_id)

    def header_stanzas(manifest_sha: str, signature: bytes) -> list[age.Stanza]:
        outer_doc = dict(outer) | {"format": PACKAGE_FORMAT, "issuer": issuer.name, "manifest_sha256": manifest_sha}
        return [*stanzas, age.Stanza(OUTER_STANZA, (), canonical_json(outer_doc)), age.Stanza(SIG_STANZA, sig_args, signature)]

    # The header's length depends on neither the manifest's hash (fixed length) nor the signature's
    # value: reserve it, write the payload after it, then write the real header once both are known.
    placeholder = age.encode_header(header_stanzas("0" * 64, bytes(64)), file_key)
    start = out.tell()
    out.seek(start + len(placeholder))
    manifest_sha = ""
    listed: list[dict[str, Any]] = []

    def archive() -> Iterator[bytes | memoryview]:
        nonlocal manifest_sha, listed
        for name, data in files.items():
            yield from _tar_member(name, data)
        hashes = file_hashes()
        listed = [{"name": n, "bytes": len(d), "sha256": h} for (n, d), h in zip(files.items(), hashes, strict=True)]
        manifest_doc = dict(manifest) | {"format": MANIFEST_FORMAT, "files": listed}
        manifest_bytes = canonical_json(manifest_doc)
        manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
        yield from _tar_member(MANIFEST_NAME, manifest_bytes)
        yield from _tar_member(SIGNATURE_NAME, canonical_json(issuer.sign("manifest", manifest_bytes)))
        yield bytes(2 * tarfile.BLOCKSIZE)

    writer = _PayloadWriter(out)
    try:
        for piece in age.encrypt_payload(file_key, archive()):
            writer.write(piece)
    finally:
        writer.close()
    unsigned = header_stanzas(manifest_sha, bytes(64))
    prefix = age.VERSION_LINE + b"\n" + b"".join(st.encode() for st in unsigned[:-1])
    signature = issuer.sign_raw(_outer_message(prefix, writer.digest.digest()))
    header = age.encode_header(header_stanzas(manifest_sha, signature), file_key)
    assert len(header) == len(placeholder)
    end = out.tell()
    out.seek(start)
    out.write(header)
    out.seek(end)
    return Sealed(writer.digest.hexdigest(), len(header) + writer.size, manifest_sha, listed)


def _outer_message(prefix: bytes, payload_sha256: bytes) -> bytes:
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


@dataclass(frozen=True)
class _Signed:
    header: age.Header
    signature: bytes
    prefix: bytes  # every header byte before the signature stanza
    payload: memoryview


def _signed_parts(data: bytes | memoryview, trusted: VerifyKey) -> _Signed:
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
    return _Signed(header, sig.body, header.raw[: header.stanza_offsets[-1]], view[header.length :])


def _outer_doc(header: age.Header) -> dict[str, Any]:
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
    return doc


def _checked_outer(signed: _Signed, trusted: VerifyKey, payload_sha: bytes) -> Outer:
    if not trusted.verify_raw(_outer_message(signed.prefix, payload_sha), signed.signature):
        raise PackageRejected("the outer signature does not verify: the package was altered, truncated or re-addressed")
    return Outer(signed.header, _outer_doc(signed.header), signed.payload, payload_sha.hex())


def verify(data: bytes | memoryview, trusted: VerifyKey) -> Outer:
    """The courier's check: the outer signature over the header and the whole ciphertext."""
    signed = _signed_parts(data, trusted)
    return _checked_outer(signed, trusted, hashlib.sha256(signed.payload).digest())


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
    files: dict[str, memoryview]  # views into one decrypted buffer: written out without another copy
    recipient: str | None  # the fingerprint it was opened as; None when released by shares
    payload_sha256: str


def file_key_for(header: age.Header, doc: Mapping[str, Any], identities: list[age.Identity] | None,
                 release_key: bytes | None) -> tuple[bytes, str | None]:  # fmt: skip
    package_id = str(doc.get("package_id"))
    if release_key is not None:
        try:
            stanza = header.stanza(RELEASE_STANZA)
        except age.AgeError as exc:
            raise PackageRejected(str(exc)) from None
        if stanza is None:
            raise PackageRejected(f"package {package_id} is not an electronic paper: it has no release key")
        try:
            return age.unwrap_with_key(release_key, package_id.encode(), RELEASE_LABEL, stanza.body), None
        except age.AgeError as exc:
            raise PackageRejected(str(exc)) from None
    for identity in identities or []:
        try:
            return age.x25519_file_key(header, [identity]), fingerprint(identity.recipient())
        except age.NoIdentityMatches:
            continue
    named = ", ".join(str(r.get("party")) for r in doc.get("recipients", []))
    raise PackageRejected(f"package {package_id} is addressed to {named or 'someone else'}, not to this identity")


def open_package(
    data: bytes | memoryview,
    *,
    trusted: VerifyKey,
    now: datetime,
    identities: list[age.Identity] | None = None,
    release_key: bytes | None = None,
) -> Opened:
    """Every check of docs/package-format.md §2 except replay, which needs the recipient's state.

    The ciphertext is hashed in a thread while it is decrypted; nothing decrypted is looked
    at, let alone returned, before the outer signature over that hash has verified."""
    signed = _signed_parts(data, trusted)
    payload_sha = _in_thread(lambda: hashlib.sha256(signed.payload).digest())
    failure: PackageRejected | None = None
    plain = bytearray()
    member_hashes: Callable[[], dict[str, str]] = dict
    try:
        file_key, mine = file_key_for(signed.header, _outer_doc(signed.header), identities, release_key)
        age.check_mac(signed.header, file_key)
        plain = bytearray(age.plaintext_length(len(signed.payload)))
        filling = _Filling(plain)
        member_hashes = _in_thread(lambda: _hash_members(filling))  # hashes each file while it is being decrypted
        try:
            age.decrypt_payload_into(file_key, signed.payload, plain, filling.advance)
        finally:
            filling.finish()
    except age.AgeError as exc:
        failure = PackageRejected(str(exc))
    except PackageRejected as exc:
        failure = exc
    # The signature speaks first: a tampered package is reported as tampered, not as undecryptable.
    outer = _checked_outer(signed, trusted, payload_sha())
    check_window(outer.doc, now)
    if failure is not None:
        raise failure
    members = _untar(plain)
    manifest_bytes = bytes(members.pop(MANIFEST_NAME))
    sig_bytes = bytes(members.pop(SIGNATURE_NAME))
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
    _check_files(manifest, members, member_hashes())
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

    def available(self, end: int) -> int:
        """How many bytes are there to read (all of them: the buffer is complete)."""
        return end

    def read(self, size: int = -1) -> bytes:
        end = len(self.view) if size is None or size < 0 else min(len(self.view), self.pos + size)
        end = self.available(end)
        out = bytes(self.view[self.pos : end])
        self.pos = max(self.pos, end)
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = max(0, pos + (0, self.pos, len(self.view))[whence])
        return self.pos

    def tell(self) -> int:
        return self.pos


def _untar(plain: bytearray) -> dict[str, memoryview]:
    """The members as views into the decrypted buffer (no copies): the files, then the manifest and its signature."""
    out: dict[str, memoryview] = {}
    view = memoryview(plain)
    try:
        with tarfile.open(fileobj=_ViewReader(view), mode="r:") as tar:  # type: ignore[arg-type]
            members = list(tar)
    except tarfile.TarError:
        raise PackageRejected("the package's contents are not a valid archive") from None
    if [m.name for m in members[-2:]] != [MANIFEST_NAME, SIGNATURE_NAME]:
        raise PackageRejected(f"the package's archive does not end with {MANIFEST_NAME} and {SIGNATURE_NAME}")
    for n, member in enumerate(members):
        if not member.isfile():
            raise PackageRejected(f"the package holds {member.name!r}, which is not a plain file")
        if member.name in out:
            raise PackageRejected(f"the package holds {member.name!r} twice")
        if n < len(members) - 2:
            try:
                check_file_name(member.name)
            except ValidationError as exc:
                raise PackageRejected(str(exc)) from None
        end = member.offset_data + member.size
        if end > len(view):
            raise PackageRejected("the package's contents are not a valid archive")
        out[member.name] = view[member.offset_data : end]
    return out


def _check_files(manifest: Mapping[str, Any], members: Mapping[str, memoryview], hashes: Mapping[str, str]) -> None:
    listed = {str(f.get("name")): f for f in manifest.get("files", [])}
    if set(listed) != set(members):
        extra, missing = sorted(set(members) - set(listed)), sorted(set(listed) - set(members))
        raise PackageRejected(f"the files do not match the manifest (unlisted: {extra}, missing: {missing})")
    for name, data in members.items():
        if len(data) != listed[name].get("bytes") or hashes.get(name) != listed[name].get("sha256"):
            raise PackageRejected(f"{name} does not match its SHA-256 in the manifest")


class _Filling(_ViewReader):
    """A _ViewReader of a buffer that another thread is still filling: reads wait for their bytes."""

    def __init__(self, buffer: bytearray) -> None:
        super().__init__(memoryview(buffer))
        self.filled, self.finished = 0, False
        self.cond = threading.Condition()

    def advance(self, filled: int) -> None:
        with self.cond:
            self.filled = filled
            self.cond.notify_all()

    def finish(self) -> None:
        with self.cond:
            self.finished = True
            self.cond.notify_all()

    def available(self, end: int) -> int:
        """Wait until `end` bytes are there (or the filling stopped); how many are."""
        with self.cond:
            while self.filled < end and not self.finished:
                self.cond.wait()
            return min(end, self.filled)


def _hash_members(filling: _Filling, step: int = 1 << 22) -> dict[str, str]:
    """SHA-256 of every archive member, each hashed as its bytes arrive. Any damage is left to `_untar` to report."""
    out: dict[str, str] = {}
    try:
        with tarfile.open(fileobj=filling, mode="r:") as tar:  # type: ignore[arg-type]
            for member in tar:
                digest = hashlib.sha256()
                at, end = member.offset_data, member.offset_data + member.size
                while at < end:
                    got = filling.available(min(end, at + step))
                    if got <= at:
                        return out
                    digest.update(filling.view[at:got])
                    at = got
                out[member.name] = digest.hexdigest()
    except (tarfile.TarError, OSError, ValueError):
        pass
    return out

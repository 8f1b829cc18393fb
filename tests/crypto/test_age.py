"""examvault's age v1 implementation: interop with the reference `age` tool, round trips, and rejections.

The reader must be as strict as age's (docs/package-format.md §2): canonical base64,
64-column stanza bodies, STREAM chunk order, a final-chunk flag, no trailing data.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examvault.crypto import age
from examvault.crypto.age import CHUNK, AgeError, Identity, NoIdentityMatches, Recipient, Stanza
from examvault.errors import IntegrityError, ValidationError

AGE = shutil.which("age")
AGE_KEYGEN = shutil.which("age-keygen")
needs_age = pytest.mark.skipif(AGE is None, reason="the reference `age` CLI is not installed (needed for interop)")
needs_keygen = pytest.mark.skipif(AGE_KEYGEN is None, reason="the reference `age-keygen` CLI is not installed")

ID_A = Identity.generate()
ID_B = Identity.generate()
ID_C = Identity.generate()
TAG = 16
NONCE = 16


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed * 1_000_003 + n).randbytes(n)


def _key_file(tmp_path: Path, identity: Identity, name: str = "id.key") -> Path:
    path = tmp_path / name
    path.write_text(identity.file_text())
    return path


def _age_decrypt(tmp_path: Path, data: bytes, key_file: Path) -> subprocess.CompletedProcess[bytes]:
    src = tmp_path / "in.age"
    src.write_bytes(data)
    return subprocess.run([AGE, "-d", "-i", str(key_file), str(src)], capture_output=True, timeout=30)


def _split(data: bytes) -> tuple[bytes, bytes]:
    """(header, payload) of an age file."""
    header = age.parse_header(data)
    return data[: header.length], data[header.length :]


def _payload_chunks(payload: bytes) -> tuple[bytes, list[bytes]]:
    nonce, rest = payload[:NONCE], payload[NONCE:]
    size = CHUNK + TAG
    return nonce, [rest[i : i + size] for i in range(0, len(rest), size)]


def _header_with(stanza_blocks: list[bytes], file_key: bytes) -> bytes:
    """A header from already-encoded stanza bytes, with a correct MAC over them."""
    raw = age.VERSION_LINE + b"\n" + b"".join(stanza_blocks) + b"---"
    return raw + b" " + age.b64encode(age.header_mac(file_key, raw)).encode() + b"\n"


# ---------------------------------------------------------------- interop with the reference tool


@needs_age
@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_our_files_open_with_age(tmp_path: Path, size: int) -> None:
    plain = _bytes(size)
    data = age.encrypt(plain, [ID_A.recipient()])
    # the payload is chunked exactly as age does: one final chunk, full chunks before it
    chunks = max(1, -(-size // CHUNK))
    assert len(_split(data)[1]) == NONCE + size + TAG * chunks
    done = _age_decrypt(tmp_path, data, _key_file(tmp_path, ID_A))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == plain


@needs_age
def test_age_rejects_our_file_with_the_wrong_identity(tmp_path: Path) -> None:
    data = age.encrypt(b"secret", [ID_A.recipient()])
    done = _age_decrypt(tmp_path, data, _key_file(tmp_path, ID_B))
    assert done.returncode != 0 and done.stdout == b""


@needs_age
@pytest.mark.parametrize("size", [0, 5, CHUNK, 2 * CHUNK + 7])
def test_files_from_age_open_with_us(tmp_path: Path, size: int) -> None:
    plain = _bytes(size, seed=1)
    src, out = tmp_path / "plain", tmp_path / "plain.age"
    src.write_bytes(plain)
    subprocess.run(
        [AGE, "-r", str(ID_A.recipient()), "-r", str(ID_B.recipient()), "-o", str(out), str(src)], check=True, timeout=30
    )
    data = out.read_bytes()
    assert age.decrypt(data, [ID_A]) == plain
    assert age.decrypt(data, [ID_C, ID_B]) == plain
    with pytest.raises(NoIdentityMatches):
        age.decrypt(data, [ID_C])


@needs_keygen
def test_age_keygen_identity_parses(tmp_path: Path) -> None:
    path = tmp_path / "k.txt"
    subprocess.run([AGE_KEYGEN, "-o", str(path)], check=True, capture_output=True, timeout=30)
    text = path.read_text()
    public = re.search(r"^# public key: (age1\S+)$", text, re.M)
    assert public is not None
    [identity] = Identity.parse_file(text)
    assert str(identity.recipient()) == public.group(1)
    assert Recipient.parse(public.group(1)) == identity.recipient()
    secret_line = next(line for line in text.splitlines() if line.startswith("AGE-SECRET-KEY-1"))
    assert str(identity) == secret_line
    # and the key works with our code in both directions
    assert age.decrypt(age.encrypt(b"x", [identity.recipient()]), [identity]) == b"x"


@needs_age
def test_our_identity_file_works_with_age(tmp_path: Path) -> None:
    identity = Identity.generate()
    text = identity.file_text()
    assert re.fullmatch(r"# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n# public key: age1[0-9a-z]{58}\nAGE-SECRET-KEY-1[0-9A-Z]{58}\n", text)
    assert Identity.parse_file(text) == [identity]
    src, out = tmp_path / "plain", tmp_path / "plain.age"
    src.write_bytes(b"hello from age")
    subprocess.run([AGE, "-r", str(identity.recipient()), "-o", str(out), str(src)], check=True, timeout=30)
    key_file = _key_file(tmp_path, identity)
    done = subprocess.run([AGE, "-d", "-i", str(key_file), str(out)], capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"hello from age"


@needs_age
def test_unknown_stanza_is_ignored_by_age(tmp_path: Path) -> None:
    """What makes a .evp openable with `age -d`: extra stanzas of types age does not know."""
    file_key = os.urandom(16)
    plain = _bytes(CHUNK + 10, seed=2)
    stanzas = [
        age.x25519_stanza(ID_A.recipient(), file_key),
        Stanza("examvault-package", (), b'{"format":"examvault.package/v1"}' * 5),  # several body lines
        Stanza("examvault-sig", ("examvault-1a2b3c4d", "0a1b2c3d"), os.urandom(64)),
    ]
    data = age.encode_header(stanzas, file_key) + b"".join(age.encrypt_payload(file_key, [plain]))
    done = _age_decrypt(tmp_path, data, _key_file(tmp_path, ID_A))
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == plain
    assert age.decrypt(data, [ID_A]) == plain
    header = age.parse_header(data)
    assert header.stanza("examvault-package") == stanzas[1]
    assert header.stanza("examvault-sig") == stanzas[2]


@needs_age
def test_age_agrees_that_noncanonical_base64_is_invalid(tmp_path: Path) -> None:
    """Our strictness matches the reference: a file age refuses, we refuse."""
    data = _noncanonical_share(age.encrypt(b"abc", [ID_A.recipient()]))
    assert _age_decrypt(tmp_path, data, _key_file(tmp_path, ID_A)).returncode != 0
    with pytest.raises(AgeError):
        age.decrypt(data, [ID_A])


# ---------------------------------------------------------------- round trips


@given(
    size=st.one_of(st.integers(0, 200_000), st.sampled_from([CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK])),
    seed=st.integers(0, 2**32),
    n_recipients=st.integers(1, 4),
    pick=st.integers(0, 3),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(size: int, seed: int, n_recipients: int, pick: int) -> None:
    plain = _bytes(size, seed)
    identities = [Identity.generate() for _ in range(n_recipients)]
    data = age.encrypt(plain, [i.recipient() for i in identities])
    assert len(age.parse_header(data).stanzas) == n_recipients
    me = identities[pick % n_recipients]
    assert age.decrypt(data, [ID_C, me]) == plain  # a non-matching identity first is skipped
    with pytest.raises(NoIdentityMatches):
        age.decrypt(data, [ID_C])


@given(cuts=st.lists(st.integers(0, 3 * CHUNK), max_size=6), seed=st.integers(0, 1000))
@settings(max_examples=10, deadline=None)
def test_payload_does_not_depend_on_how_the_input_is_split(cuts: list[int], seed: int) -> None:
    plain = _bytes(3 * CHUNK, seed)
    bounds = sorted({0, len(plain), *cuts})
    pieces = [plain[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    file_key = os.urandom(16)
    payload = b"".join(age.encrypt_payload(file_key, pieces))
    nonce, chunks = _payload_chunks(payload)
    assert [len(c) for c in chunks] == [CHUNK + TAG] * 3  # the last chunk is full, not empty
    assert age.decrypt_payload_all(file_key, payload) == plain


def test_identity_and_recipient_text_round_trip() -> None:
    identity = Identity.generate()
    assert Identity.parse_file(str(identity)) == [identity]
    assert Identity.parse_file(str(identity).lower()) == [identity]
    assert Recipient.parse(str(identity.recipient())) == identity.recipient()
    assert str(identity.recipient()).startswith("age1")
    recipient = str(identity.recipient())
    last_changed = recipient[:-1] + ("q" if recipient[-1] != "q" else "p")  # one character always differs
    for bad in ("", "age1xyz", str(identity), last_changed):
        with pytest.raises(ValidationError):
            Recipient.parse(bad)
    with pytest.raises(ValidationError):
        Identity.parse_file("# only a comment\n")
    with pytest.raises(ValidationError):
        Identity.parse_file(str(identity.recipient()))


# ---------------------------------------------------------------- rejections


def _noncanonical_share(data: bytes) -> bytes:
    """Rewrite the X25519 share argument so its last character sets the unused low bits."""
    text = data.decode("latin-1")
    m = re.search(r"-> X25519 (\S+)\n", text)
    assert m is not None
    share = m.group(1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    assert len(share) == 43  # 32 bytes: the last character carries 2 unused bits
    last = alphabet.index(share[-1])
    assert last & 3 == 0
    bad = share[:-1] + alphabet[last | 1]
    assert age.base64.b64decode(bad + "=") == age.base64.b64decode(share + "=")  # same bytes, other text
    return (text[: m.start(1)] + bad + text[m.end(1) :]).encode("latin-1")


@pytest.fixture(scope="module")
def four_chunks() -> tuple[bytes, bytes]:
    plain = _bytes(3 * CHUNK + 100, seed=3)
    return plain, age.encrypt(plain, [ID_A.recipient()])


def test_control_the_four_chunk_file_decrypts(four_chunks: tuple[bytes, bytes]) -> None:
    plain, data = four_chunks
    assert age.decrypt(data, [ID_A]) == plain
    _, chunks = _payload_chunks(_split(data)[1])
    assert [len(c) for c in chunks] == [CHUNK + TAG] * 3 + [100 + TAG]


@pytest.mark.parametrize("cut", [1, 50, 100 + TAG - 1, 100 + TAG])
def test_truncated_in_the_last_chunk(four_chunks: tuple[bytes, bytes], cut: int) -> None:
    _, data = four_chunks
    with pytest.raises(AgeError):
        age.decrypt(data[:-cut], [ID_A])


def test_missing_final_chunk(four_chunks: tuple[bytes, bytes]) -> None:
    """Cut exactly at a chunk boundary: the last full chunk is not flagged final, so it fails."""
    _, data = four_chunks
    header, payload = _split(data)
    nonce, chunks = _payload_chunks(payload)
    for keep in (1, 2, 3):
        with pytest.raises(AgeError):
            age.decrypt(header + nonce + b"".join(chunks[:keep]), [ID_A])
    with pytest.raises(AgeError):
        age.decrypt(header + nonce, [ID_A])  # no chunk at all
    with pytest.raises(AgeError):
        age.decrypt(header, [ID_A])


def test_full_final_chunk_cut_at_boundary() -> None:
    """3·64 KiB: the third full chunk is the final one; dropping it leaves an unflagged chunk."""
    plain = _bytes(3 * CHUNK, seed=4)
    data = age.encrypt(plain, [ID_A.recipient()])
    assert age.decrypt(data, [ID_A]) == plain
    with pytest.raises(AgeError):
        age.decrypt(data[: -(CHUNK + TAG)], [ID_A])


@pytest.mark.parametrize("garbage", [b"\x00", b"x" * 15, b"x" * 16, os.urandom(CHUNK + TAG)])
def test_trailing_garbage(four_chunks: tuple[bytes, bytes], garbage: bytes) -> None:
    _, data = four_chunks
    with pytest.raises(AgeError):
        age.decrypt(data + garbage, [ID_A])


def test_trailing_garbage_after_a_small_file() -> None:
    data = age.encrypt(b"short", [ID_A.recipient()])
    for garbage in (b"\n", b"\x00" * 17):
        with pytest.raises(AgeError):
            age.decrypt(data + garbage, [ID_A])


def test_empty_final_chunk_after_a_full_one_is_rejected() -> None:
    """age forbids an empty last chunk after a full one (the encoder never writes it)."""
    file_key = os.urandom(16)
    nonce = os.urandom(16)
    aead = age._payload_aead(file_key, nonce)
    plain = _bytes(CHUNK, seed=5)
    payload = nonce + aead.encrypt(age._chunk_nonce(0, False), plain, None) + aead.encrypt(age._chunk_nonce(1, True), b"", None)
    with pytest.raises(AgeError):
        age.decrypt_payload_all(file_key, payload)
    good = nonce + aead.encrypt(age._chunk_nonce(0, True), plain, None)
    assert age.decrypt_payload_all(file_key, good) == plain


def test_reordered_chunks(four_chunks: tuple[bytes, bytes]) -> None:
    _, data = four_chunks
    header, payload = _split(data)
    nonce, chunks = _payload_chunks(payload)
    for i, j in ((0, 1), (1, 2), (0, 2)):
        swapped = list(chunks)
        swapped[i], swapped[j] = swapped[j], swapped[i]
        with pytest.raises(AgeError):
            age.decrypt(header + nonce + b"".join(swapped), [ID_A])
    with pytest.raises(AgeError):  # a chunk repeated in place of another
        age.decrypt(header + nonce + chunks[0] + chunks[0] + chunks[2] + chunks[3], [ID_A])


def test_payload_nonce_altered(four_chunks: tuple[bytes, bytes]) -> None:
    _, data = four_chunks
    header, payload = _split(data)
    with pytest.raises(AgeError):
        age.decrypt(header + bytes([payload[0] ^ 1]) + payload[1:], [ID_A])


def test_wrong_identity() -> None:
    data = age.encrypt(b"for A only", [ID_A.recipient()])
    with pytest.raises(NoIdentityMatches):
        age.decrypt(data, [ID_B])
    with pytest.raises(NoIdentityMatches):
        age.decrypt(data, [])
    assert issubclass(NoIdentityMatches, AgeError) and issubclass(AgeError, IntegrityError)


def test_header_mac_altered() -> None:
    data = age.encrypt(b"payload", [ID_A.recipient()])
    header = age.parse_header(data)
    bad_mac = bytes([header.mac[0] ^ 1]) + header.mac[1:]
    line = b"--- " + age.b64encode(header.mac).encode() + b"\n"
    assert data.count(line) == 1
    forged = data.replace(line, b"--- " + age.b64encode(bad_mac).encode() + b"\n")
    age.parse_header(forged)  # still well-formed
    with pytest.raises(AgeError, match="MAC"):
        age.decrypt(forged, [ID_A])


def test_header_altered_under_a_good_mac_line() -> None:
    """A stanza added after sealing (the MAC covers every stanza byte) is detected."""
    data = age.encrypt(b"payload", [ID_A.recipient()])
    extra = Stanza("grease", ("x",), b"abc").encode()
    forged = data.replace(b"\n---", b"\n" + extra.rstrip(b"\n") + b"\n---", 1)
    assert len(age.parse_header(forged).stanzas) == 2
    with pytest.raises(AgeError, match="MAC"):
        age.decrypt(forged, [ID_A])


def test_noncanonical_base64_in_a_stanza() -> None:
    data = age.encrypt(b"payload", [ID_A.recipient()])
    forged = _noncanonical_share(data)
    age.parse_header(forged)  # arguments are decoded by the stanza's type, when it is unwrapped
    with pytest.raises(AgeError, match="base64"):
        age.decrypt(forged, [ID_A])


def test_noncanonical_base64_in_a_stanza_body() -> None:
    file_key = os.urandom(16)
    body = os.urandom(32)  # 43 base64 characters; the last holds 2 unused bits
    text = age.b64encode(body)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(text[-1])
    bad = text[:-1] + alphabet[last | 2]
    blocks = [age.x25519_stanza(ID_A.recipient(), file_key).encode(), b"-> grease\n" + bad.encode() + b"\n"]
    data = _header_with(blocks, file_key) + b"".join(age.encrypt_payload(file_key, [b"p"]))
    with pytest.raises(AgeError, match="base64"):
        age.decrypt(data, [ID_A])
    good = [blocks[0], b"-> grease\n" + text.encode() + b"\n"]
    assert age.decrypt(_header_with(good, file_key) + b"".join(age.encrypt_payload(file_key, [b"p"])), [ID_A]) == b"p"


@pytest.mark.parametrize("padded", [False, True])
def test_padded_base64_is_rejected(padded: bool) -> None:
    with pytest.raises(AgeError):
        age.b64decode(age.b64encode(b"\x01\x02") + ("=" if padded else "!"))
    assert age.b64decode(age.b64encode(b"\x01\x02")) == b"\x01\x02"


def test_stanza_body_line_longer_than_64_columns() -> None:
    file_key = os.urandom(16)
    body = os.urandom(60)  # 80 base64 characters: properly 64 + 16
    proper = Stanza("grease", (), body).encode()
    assert [len(x) for x in proper.split(b"\n")[1:-1]] == [64, 16]
    long_line = b"-> grease\n" + age.b64encode(body).encode() + b"\n"
    payload = b"".join(age.encrypt_payload(file_key, [b"p"]))
    x25519 = age.x25519_stanza(ID_A.recipient(), file_key).encode()
    assert age.decrypt(_header_with([x25519, proper], file_key) + payload, [ID_A]) == b"p"  # control
    with pytest.raises(AgeError, match="64 columns"):
        age.decrypt(_header_with([x25519, long_line], file_key) + payload, [ID_A])


def test_stanza_body_ending_on_a_full_line_needs_an_empty_line() -> None:
    """A 48-byte body is exactly one 64-column line; age requires a following empty line."""
    file_key = os.urandom(16)
    body = os.urandom(48)
    encoded = Stanza("grease", (), body).encode()
    assert encoded.endswith(b"\n\n")
    payload = b"".join(age.encrypt_payload(file_key, [b"p"]))
    x25519 = age.x25519_stanza(ID_A.recipient(), file_key).encode()
    data = _header_with([x25519, encoded], file_key) + payload
    assert age.decrypt(data, [ID_A]) == b"p"
    assert age.parse_header(data).stanzas[1].body == body
    # without the empty line the next line ("---") is read as body text and fails
    with pytest.raises(AgeError):
        age.decrypt(_header_with([x25519, encoded[:-1]], file_key) + payload, [ID_A])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.replace(b"age-encryption.org/v1", b"age-encryption.org/v2", 1),
        lambda d: d.replace(b"-> X25519", b"->  X25519", 1),
        lambda d: d.replace(b"\n--- ", b"\n---", 1),
        lambda d: d[: d.index(b"\n---")],
    ],
    ids=["version", "empty-argument", "mac-line", "no-mac-line"],
)
def test_malformed_headers(mangle) -> None:
    data = age.encrypt(b"payload", [ID_A.recipient()])
    with pytest.raises(AgeError):
        age.decrypt(mangle(data), [ID_A])


def test_x25519_stanza_with_wrong_body_length_is_an_error() -> None:
    file_key = os.urandom(16)
    good = age.x25519_stanza(ID_A.recipient(), file_key)
    bad = Stanza("X25519", good.args, good.body + b"\x00")
    data = age.encode_header([bad], file_key) + b"".join(age.encrypt_payload(file_key, [b"p"]))
    with pytest.raises(AgeError):
        age.decrypt(data, [ID_A])


def test_low_order_share_is_an_error() -> None:
    """An all-zero X25519 share gives an all-zero shared secret, which age refuses."""
    file_key = os.urandom(16)
    bad = Stanza("X25519", (age.b64encode(bytes(32)),), os.urandom(32))
    data = age.encode_header([bad], file_key) + b"".join(age.encrypt_payload(file_key, [b"p"]))
    with pytest.raises(AgeError, match="invalid X25519"):
        age.decrypt(data, [ID_A])

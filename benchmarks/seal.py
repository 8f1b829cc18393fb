"""Sealed packages and the custody log: throughput of seal / verify / open beside the real `age`, and Merkle proofs.

    /work/venv/bin/python benchmarks/seal.py [--runs 3] [--mb 200] [--part package,custody] [--breakdown]

Part "package": one file of --mb MB (10^6 bytes) of os.urandom bytes (incompressible, like a
PDF), sealed to one printer with the pure format API of examvault/export/package.py:
- seal:    the files in memory → a .evp on disk (`package.seal`, the file closed);
- verify:  read the .evp + `package.verify` (the courier's check: outer signature over the header
           and SHA-256 of the whole ciphertext);
- open:    read the .evp + `package.open_package` (every check, decrypt, untar, file hashes, two
           approvals), then write the files into a fresh directory, as a printer would;
- age -e / age -d: the reference tool (/usr/bin/age) on the same plaintext, file to file;
- age.encrypt / age.decrypt: examvault/crypto/age.py in memory, the age layer without packaging.
Reported as medians over --runs with min–max and MB/s, and ours/age time ratios (seal vs
age -e, open vs age -d; above 1 means ours is slower). Checked in the bench, outside the timings:
the opened and written files equal the input, `age -d` of our .evp is a tar holding them, `age -d`
of the tool's own file equals the input, and our age.decrypt reads the tool's file.
--breakdown also times the steps of seal and open one by one (in the order the code runs them).

Part "custody": examvault.custody.merkle.MemoryTree, --leaves leaves appended (time per run),
then --proofs inclusion proofs for random leaves (inclusion_path, verify_inclusion against
root()) and as many consistency proofs between random sizes; medians in µs per proof over
all runs.

Part "custody-db": the same in a real bank (SQLite by default, --db for PostgreSQL): --leaves
events signed by the institution key and appended with their tree nodes, a checkpoint, then
--proofs inclusion proofs per run through the service and verified offline; and `custody verify`
of the whole log.

The machine is noisy (2 cores): compare medians, and runs of the same invocation.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cryptography  # noqa: E402
from cryptography.hazmat.backends.openssl.backend import backend as openssl  # noqa: E402

from examvault.crypto import age  # noqa: E402
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json  # noqa: E402
from examvault.custody import merkle  # noqa: E402
from examvault.export import package  # noqa: E402

AGE = "/usr/bin/age"
MB = 1_000_000
FILE_NAME = "P2026-9999-A_试卷.pdf"


@dataclass
class Row:
    label: str
    times: list[float] = field(default_factory=list)
    nbytes: int = 0  # plaintext bytes, for MB/s
    note: str = ""

    @property
    def med(self) -> float:
        return statistics.median(self.times)


def fig(row: Row) -> str:
    rate = f"{row.nbytes / MB / row.med:8.0f} MB/s" if row.nbytes else " " * 13
    return f"{row.label:<26} {row.med:7.3f} s  ({min(row.times):6.3f}–{max(row.times):6.3f})  {rate}  {row.note}"


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)


def age_version() -> str:
    try:
        return subprocess.run([AGE, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not found"


# ---------------------------------------------------------------- part 1: packages


@dataclass
class Parties:
    institution: SigningKey
    printer: age.Identity
    approvals: list[dict[str, Any]]
    paper_code: str
    paper_digest: str


def make_parties() -> Parties:
    institution = SigningKey.generate("examvault-1a2b3c4d")
    printer = age.Identity.generate()
    code = "P2026-9999-A"
    digest = hashlib.sha256(b"the paper's derivation").hexdigest()
    approvals = []
    for name in ("wang", "zhao"):
        key = SigningKey.generate(name)
        approvals.append({"approver": name, "verify_key": str(key.verify_key),
                          "signature": key.sign("approval", package.approval_message(code, digest))})  # fmt: skip
    return Parties(institution, printer, approvals, code, digest)


def documents(p: Parties, files: dict[str, bytes], now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The outer header and manifest as docs/package-format.md §2 shows them (binding fields are seal's)."""
    recipient = p.printer.recipient()
    fp = package.fingerprint(recipient)
    common = {
        "package_id": str(uuid.uuid4()), "kind": "paper", "version": 1, "issuer": p.institution.name,
        "sealed_at": package.utc_text(now), "not_before": package.utc_text(now - timedelta(days=1)),
        "expires": package.utc_text(now + timedelta(days=14)),
    }  # fmt: skip
    outer = common | {"paper": p.paper_code, "form": "A", "recipients": [{"party": "printer-1", "fingerprint": fp}]}
    manifest = common | {
        "paper": {"id": str(uuid.uuid4()), "code": p.paper_code, "form": "A", "title": "电工 三级 理论知识试卷",
                  "digest": p.paper_digest},
        "recipients": [{"party": "printer-1", "role": "printer", "fingerprint": fp}],
        "copies": {"rooms": [{"site": "一考点", "room": "101", "copies": 30}], "spares": 4, "total": 34},
        "approvals": p.approvals,
        "release": None,
    }  # fmt: skip
    return outer, manifest


def seal_to(path: Path, p: Parties, files: dict[str, bytes], now: datetime) -> package.Sealed:
    outer, manifest = documents(p, files, now)
    with open(path, "wb") as out:
        return package.seal(out, issuer=p.institution, outer=outer, manifest=manifest, files=files,
                            recipients=[p.printer.recipient()])  # fmt: skip


def verify_file(path: Path, p: Parties) -> package.Outer:
    return package.verify(path.read_bytes(), p.institution.verify_key)


def open_to(path: Path, p: Parties, now: datetime, into: Path) -> package.Opened:
    opened = package.open_package(path.read_bytes(), trusted=p.institution.verify_key, now=now, identities=[p.printer])
    into.mkdir()
    for name, data in opened.files.items():
        (into / name).write_bytes(data)
    return opened


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"CHECK FAILED: {what}")


def bench_package(args: argparse.Namespace) -> None:
    size = args.mb * MB
    now = datetime.now(UTC).replace(microsecond=0)
    p = make_parties()
    plaintext = os.urandom(size)
    files = {FILE_NAME: plaintext}
    rows = {k: Row(k, nbytes=size) for k in ("seal", "verify", "open", "age -e", "age -d", "age.encrypt", "age.decrypt")}
    rows["seal"].note = "files in memory → .evp on disk"
    rows["verify"].note = "read + outer signature + SHA-256 of ciphertext"
    rows["open"].note = "read + open_package + write the files"
    rows["age -e"].note = "/usr/bin/age, file → file"
    rows["age -d"].note = "/usr/bin/age, file → file"
    rows["age.encrypt"].note = "examvault/crypto/age.py, memory → memory"
    rows["age.decrypt"].note = "examvault/crypto/age.py, memory → memory"
    steps: dict[str, dict[str, list[float]]] = {"seal": {}, "open": {}}
    print(f"\npart package: one file of {size / MB:,.0f} MB of random bytes, one recipient, --runs {args.runs}; temp dir {args.tmpdir}")
    with tempfile.TemporaryDirectory(prefix="evp-bench-", dir=args.tmpdir) as tmp:
        d = Path(tmp)
        src, key = d / "in.bin", d / "printer.age-key"
        src.write_bytes(plaintext)
        key.write_text(p.printer.file_text())
        key.chmod(0o600)
        recipient = str(p.printer.recipient())
        for r in range(args.runs):
            evp, opened_dir, age_out, age_back, evp_tar = d / "p.evp", d / "opened", d / "out.age", d / "out.bin", d / "evp.tar"
            t, sealed = timed(seal_to, evp, p, files, now)
            rows["seal"].times.append(t)
            t, outer = timed(verify_file, evp, p)
            rows["verify"].times.append(t)
            check(outer.payload_sha256 == sealed.payload_sha256, "verify: payload SHA-256 differs from seal's")
            del outer
            t, opened = timed(open_to, evp, p, now, opened_dir)
            rows["open"].times.append(t)
            check(opened.files == files, "open: the opened files differ from the input")
            check(hashlib.sha256((opened_dir / FILE_NAME).read_bytes()).digest() == hashlib.sha256(plaintext).digest(),
                  "open: the written file differs from the input")  # fmt: skip
            del opened

            t, _ = timed(run, [AGE, "-r", recipient, "-o", str(age_out), str(src)])
            rows["age -e"].times.append(t)
            t, _ = timed(run, [AGE, "-d", "-i", str(key), "-o", str(age_back), str(age_out)])
            rows["age -d"].times.append(t)
            check(age_back.read_bytes() == plaintext, "age -d of age -e differs from the input")

            t, blob = timed(age.encrypt, plaintext, [p.printer.recipient()])
            rows["age.encrypt"].times.append(t)
            t, back = timed(age.decrypt, blob, [p.printer])
            rows["age.decrypt"].times.append(t)
            check(back == plaintext, "age.decrypt(age.encrypt(x)) != x")
            del blob, back

            if r == 0:  # interoperability, once
                check(age.decrypt(age_out.read_bytes(), [p.printer]) == plaintext, "our age.decrypt of the tool's file")
                run([AGE, "-d", "-i", str(key), "-o", str(evp_tar), str(evp)])
                with tarfile.open(evp_tar, "r:") as tar:
                    names = tar.getnames()
                    member = tar.extractfile(FILE_NAME)
                    check(member is not None and member.read() == plaintext, "age -d of our .evp: the file in the tar")
                check(names == [FILE_NAME, package.MANIFEST_NAME, package.SIGNATURE_NAME], f"age -d of our .evp: tar holds {names}")
            if args.breakdown:
                breakdown(evp, p, files, now, steps)
            for f in (evp, age_out, age_back, evp_tar):
                f.unlink(missing_ok=True)
            shutil.rmtree(opened_dir)
            print(f"  run {r + 1}: seal {rows['seal'].times[-1]:.2f} s, verify {rows['verify'].times[-1]:.2f} s, "
                  f"open {rows['open'].times[-1]:.2f} s, age -e {rows['age -e'].times[-1]:.2f} s, "
                  f"age -d {rows['age -d'].times[-1]:.2f} s, age.encrypt {rows['age.encrypt'].times[-1]:.2f} s, "
                  f"age.decrypt {rows['age.decrypt'].times[-1]:.2f} s")  # fmt: skip
    head = f"{'':<26} {'median':>9}  {'(min–max)':<17}  {'throughput':>13}"
    print(f"\n{head}\n{'-' * len(head)}")
    for row in rows.values():
        print(fig(row))
    print("\nratios (median time, ours / age; > 1 means ours is slower)")
    for ours, theirs in (("seal", "age -e"), ("open", "age -d"), ("age.encrypt", "age -e"), ("age.decrypt", "age -d")):
        print(f"  {ours:<12} / {theirs:<7} {rows[ours].med / rows[theirs].med:5.2f}")
    print(f"  packaging overhead: seal − age.encrypt {rows['seal'].med - rows['age.encrypt'].med:+.2f} s, "
          f"open − age.decrypt {rows['open'].med - rows['age.decrypt'].med:+.2f} s")  # fmt: skip
    print("checks: opened and written files equal the input; age -d of the .evp is a tar of manifest.json, "
          "manifest.sig and the file; age and examvault read each other's files: all passed")
    if args.breakdown:
        for op, parts in steps.items():
            total = sum(statistics.median(v) for v in parts.values())
            print(f"\n{op}, step by step (medians; sum {total:.2f} s)")
            for name, v in parts.items():
                m = statistics.median(v)
                print(f"  {name:<48} {m:7.3f} s  {m / total:5.1%}")


def breakdown(evp: Path, p: Parties, files: dict[str, bytes], now: datetime, steps: dict[str, dict[str, list[float]]]) -> None:
    """The steps seal and open_package take, one at a time, with the same functions they call."""

    def step(op: str, name: str, fn: Callable[[], Any]) -> Any:
        t, out = timed(fn)
        steps[op].setdefault(name, []).append(t)
        return out

    # seal: hash the files for the manifest; tar + encrypt; hash the ciphertext; write.
    data = files[FILE_NAME]
    step("seal", "SHA-256 of the files (manifest)", lambda: hashlib.sha256(data).digest())
    key = os.urandom(16)
    members = [(FILE_NAME, data), (package.MANIFEST_NAME, b"{}"), (package.SIGNATURE_NAME, b"{}")]
    archive = [x for name, body in members for x in package._tar_member(name, body)]
    cipher = step("seal", "tar + encrypt_payload (ChaCha20-Poly1305)", lambda: list(age.encrypt_payload(key, archive)))

    def hash_pieces() -> None:
        h = hashlib.sha256()
        for piece in cipher:
            h.update(piece)

    step("seal", "SHA-256 of the ciphertext, piece by piece", hash_pieces)
    scratch = evp.with_suffix(".scratch")

    def write() -> None:
        with open(scratch, "wb") as out:
            for piece in cipher:
                out.write(piece)

    step("seal", "write the pieces to disk", write)
    scratch.unlink()

    # open_package: read; verify (SHA-256 of the ciphertext); decrypt + join; untar; file hashes; write.
    raw = step("open", "read the .evp", evp.read_bytes)
    outer = step("open", "verify (outer signature, SHA-256 of ciphertext)", lambda: package.verify(raw, p.institution.verify_key))
    file_key, _ = package.file_key_for(outer.header, outer.doc, [p.printer], None)
    plain = step("open", "decrypt_payload_all (in place)", lambda: age.decrypt_payload_all(file_key, outer.payload))
    got = step("open", "_untar (views, no copies)", lambda: package._untar(plain))
    step("open", "SHA-256 of the files (_check_files)", lambda: [hashlib.sha256(v).digest() for v in got.values()])
    out_dir = evp.parent / "breakdown"
    out_dir.mkdir()
    step("open", "write the files", lambda: [(out_dir / n).write_bytes(v) for n, v in got.items()])
    shutil.rmtree(out_dir)
    check(got[FILE_NAME] == data, "breakdown: untarred file differs")


# ---------------------------------------------------------------- part 2: custody log (Merkle)


def us(v: list[float]) -> str:
    q = statistics.quantiles(v, n=20)
    return f"median {statistics.median(v) * 1e6:7.1f} µs  (p5 {q[0] * 1e6:6.1f}, p95 {q[-1] * 1e6:6.1f})"


def bench_custody_memory(args: argparse.Namespace) -> None:
    """The in-memory tree. A bench_custody_db(args) would time the same operations through the database's node lookup."""
    n, proofs = args.leaves, args.proofs
    print(f"\npart custody: MemoryTree, {n:,} leaves, {proofs:,} inclusion and {proofs:,} consistency proofs per run, --runs {args.runs}")
    # Leaves shaped like custody events (canonical JSON, ~400 bytes), made once, outside the timing.
    leaves = [canonical_json({"format": "examvault.custody/v1", "seq": i, "id": str(uuid.UUID(int=i)), "type": "printer.printed",
                              "at": "2026-12-01T08:00:00Z", "actor": "printer-1", "counterpart": None, "paper": "P2026-0001-A",
                              "package": str(uuid.UUID(int=10**9 + i)), "details": {"copies": 64},
                              "signatures": [{"signer": "printer-1", "key_id": "1a2b3c4d", "signature": "A" * 88}]})
              for i in range(n)]  # fmt: skip
    append, root_t = Row("append (leaf_hash + append_hash)"), Row("root()")
    produce, verify, both, c_produce, c_verify, c_both, path_len = [], [], [], [], [], [], []
    clock = time.perf_counter
    for r in range(args.runs):
        tree = merkle.MemoryTree()

        def fill(tree: merkle.MemoryTree = tree) -> None:
            for leaf in leaves:
                tree.append_hash(merkle.leaf_hash(leaf))

        append.times.append(timed(fill)[0])
        t, root = timed(merkle.root, tree.node, n)
        root_t.times.append(t)
        rng = random.Random(1000 + r)
        for _ in range(proofs):
            i = rng.randrange(n)
            t0 = clock()
            path = merkle.inclusion_path(tree.node, i, n)
            t1 = clock()
            ok = merkle.verify_inclusion(leaves[i], i, n, path, root)
            t2 = clock()
            check(ok, f"inclusion proof of leaf {i} in {n}")
            produce.append(t1 - t0)
            verify.append(t2 - t1)
            both.append(t2 - t0)
            path_len.append(len(path))
        check(not merkle.verify_inclusion(leaves[0], 1, n, merkle.inclusion_path(tree.node, 1, n), root), "a wrong leaf verified")
        for _ in range(proofs):
            old, new = sorted(rng.sample(range(1, n + 1), 2))
            old_root, new_root = merkle.root(tree.node, old), merkle.root(tree.node, new)  # a party's saved checkpoints
            t0 = clock()
            path = merkle.consistency_path(tree.node, old, new)
            t1 = clock()
            ok = merkle.verify_consistency(old, new, old_root, new_root, path)
            t2 = clock()
            check(ok, f"consistency proof {old} → {new}")
            c_produce.append(t1 - t0)
            c_verify.append(t2 - t1)
            c_both.append(t2 - t0)
        print(f"  run {r + 1}: append {append.times[-1]:.3f} s, root {root_t.times[-1] * 1e6:.0f} µs")
    print(f"\n{'append ' + format(n, ',') + ' leaves':<34} median {append.med:.3f} s (min {min(append.times):.3f}, max "
          f"{max(append.times):.3f}); {append.med / n * 1e6:.2f} µs per leaf, {n / append.med:,.0f} leaves/s")  # fmt: skip
    print(f"{'root() of the whole tree':<34} median {root_t.med * 1e6:.1f} µs")
    print(f"inclusion proofs ({len(produce):,} over {args.runs} runs; path {min(path_len)}–{max(path_len)} hashes)")
    print(f"  {'produce (inclusion_path)':<32} {us(produce)}")
    print(f"  {'verify (verify_inclusion)':<32} {us(verify)}")
    print(f"  {'both':<32} {us(both)}")
    print(f"consistency proofs between random sizes ({len(c_produce):,} over {args.runs} runs)")
    print(f"  {'produce (consistency_path)':<32} {us(c_produce)}")
    print(f"  {'verify (verify_consistency)':<32} {us(c_verify)}")
    print(f"  {'both':<32} {us(c_both)}")


def bench_custody_db(args: argparse.Namespace) -> None:
    """The log in a real bank (SQLite file, or --db URL): --leaves signed events appended, then proofs
    through the service (`custody.inclusion_proof`: a read transaction, the checkpoint, one query for
    every node on the path) and verified offline (`verify_doc`)."""
    from examvault.accounts.service import add_user
    from examvault.bank import Bank
    from examvault.crypto import keyring
    from examvault.custody import service as custody
    from examvault.custody.events import new_event, signed_bytes
    from examvault.custody.proofs import verify_doc
    from examvault.setup import init_bank

    work = Path(tempfile.mkdtemp(prefix="evp-custody-", dir=args.tmpdir))
    url = args.db or f"sqlite:///{work / 'bank.db'}"
    init_bank(url, "benchmark passphrase", institution="bench", admin="admin")
    bank = Bank.open(url, actor="admin", unlocker=lambda s: keyring.unlock_with_passphrase(s, "benchmark passphrase"))
    with bank.transaction() as session:
        add_user(session, "cust", ["custodian"], "")
    bank.close()
    bank = Bank.open(url, actor="cust", unlocker=lambda s: keyring.unlock_with_passphrase(s, "benchmark passphrase"))
    trusted = VerifyKey.parse(custody.institution_key(bank))
    print(f"\npart custody-db: {args.leaves:,} signed events into {url.split('?')[0]}, then {args.proofs:,} inclusion proofs per run, --runs {args.runs}")
    batch = 10_000
    t0 = time.perf_counter()
    done = 0
    while done < args.leaves:
        with bank.transaction(write=True) as session:
            key = custody.institution_signing_key(session, bank.keyring(session))
            events = []
            for i in range(done, min(args.leaves, done + batch)):
                e = new_event("paper.marked", "cust", paper="P2026-0001-A", details={"n": i})
                events.append(e | {"signatures": [key.sign("custody-event", signed_bytes(e))]})
            custody._append(session, events)
        done += len(events)
    appended = time.perf_counter() - t0
    t0 = time.perf_counter()
    note = custody.checkpoint(bank)
    cp_time = time.perf_counter() - t0
    print(f"append (sign + insert leaves and nodes, {batch:,} per transaction): {appended:.2f} s, "
          f"{appended / args.leaves * 1e6:.0f} µs per event; checkpoint of {args.leaves:,}: {cp_time * 1e3:.1f} ms")
    rng = random.Random(7)
    produce, verify, both = [], [], []
    for _run in range(args.runs):
        for _ in range(args.proofs):
            seq = rng.randrange(args.leaves)
            t0 = time.perf_counter()
            doc = custody.inclusion_proof(bank, seq)
            t1 = time.perf_counter()
            got = verify_doc(doc, trusted, "proof")
            t2 = time.perf_counter()
            check(got["index"] == seq and doc["checkpoint"] == note, "custody-db: proof")
            produce.append(t1 - t0)
            verify.append(t2 - t1)
            both.append(t2 - t0)
    baseline = []
    for _ in range(args.proofs):
        t0 = time.perf_counter()
        with bank.transaction() as session:
            bank.actor(session, "custody.read")
        baseline.append(time.perf_counter() - t0)
    print("one proof per call (a transaction, the user's roles, the checkpoint, the leaf, one node query):")
    print(f"  {'baseline: an empty service call':<36} {us(baseline)}  (transaction + acting user and roles)")
    print(f"  {'produce (custody.inclusion_proof)':<36} {us(produce)}")
    print(f"  {'verify offline (verify_doc)':<36} {us(verify)}")
    print(f"  {'both':<36} {us(both)}")
    per_batch = []
    for _run in range(args.runs):
        seqs = [rng.randrange(args.leaves) for _ in range(args.proofs)]
        t0 = time.perf_counter()
        docs = custody.inclusion_proofs(bank, seqs)
        t1 = time.perf_counter()
        for seq, doc in zip(seqs, docs, strict=True):
            check(verify_doc(doc, trusted, "proof")["index"] == seq, "custody-db: batch proof")
        per_batch.append((time.perf_counter() - t0) / len(seqs))
        print(f"  run {_run + 1}: {len(seqs):,} proofs in one call: produce {(t1 - t0) * 1e3:.0f} ms, produce + verify "
              f"{(time.perf_counter() - t0) * 1e3:.0f} ms")
    print(f"  {'per proof, in batches (produce + verify)':<36} median {statistics.median(per_batch) * 1e6:7.1f} µs")
    t0 = time.perf_counter()
    report = custody.verify_log(bank)
    print(f"custody verify of the whole log: {time.perf_counter() - t0:.2f} s ({report['events']:,} events)")
    bank.close()
    shutil.rmtree(work)


PARTS: dict[str, Callable[[argparse.Namespace], None]] = {
    "package": bench_package, "custody": bench_custody_memory, "custody-db": bench_custody_db,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--part", default="package,custody,custody-db", help=f"comma-separated, of: {', '.join(PARTS)}")
    ap.add_argument("--mb", type=int, default=200, help="package size in MB (10^6 bytes)")
    ap.add_argument("--breakdown", action="store_true", help="also time the steps of seal and open")
    ap.add_argument("--tmpdir", default=tempfile.gettempdir(), help="where the package files are written")
    ap.add_argument("--leaves", type=int, default=100_000)
    ap.add_argument("--proofs", type=int, default=1_000)
    ap.add_argument("--db", help="custody-db: a database URL (default: a SQLite file in --tmpdir)")
    args = ap.parse_args()
    wanted = [s.strip() for s in args.part.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {sys.version.split()[0]}, "
          f"cryptography {cryptography.__version__} ({openssl.openssl_version_text()}), "
          f"age {age_version()}")  # fmt: skip
    for part in wanted:
        PARTS[part](args)
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()

"""The recipient's side of a package: verify, open, receipt. Needs no bank, only `pip install examvault`.

A printer or examiner holds its own age identity and signing key and the institution's
verifier key. Opening remembers what was opened (a small JSON state file), so a replayed
package or an older version is refused.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from examvault.crypto import age
from examvault.crypto.signing import SigningKey, VerifyKey
from examvault.custody.events import new_event, sign_event
from examvault.errors import ConflictError, ValidationError
from examvault.export import package as fmt

STATE_ENV = "EXAMVAULT_STATE"


def default_state() -> Path:
    return Path(os.environ.get(STATE_ENV) or Path.home() / ".examvault" / "opened.json")


def read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read the {what} ({exc.strerror})") from None


def load_identities(path: Path) -> list[age.Identity]:
    return age.Identity.parse_file(read_file(path, "identity").decode("utf-8", "replace"), str(path))


def verify_file(path: Path, trusted: VerifyKey) -> dict[str, Any]:
    """What a courier can check without opening: the institution signed this header and this ciphertext."""
    outer = fmt.verify(read_file(path, "package"), trusted)
    return {"file": str(path), "verified": True, "signed_by": f"{trusted.name}+{trusted.key_id}",
            "payload_sha256": outer.payload_sha256} | outer.doc  # fmt: skip


class OpenedState:
    """Package ids this recipient opened, and the highest version per paper, kind and recipient."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        except (OSError, ValueError):
            raise ValidationError(f"{path}: the opened-packages state is unreadable; restore it from a backup rather than deleting it") from None
        self.doc.setdefault("packages", {})
        self.doc.setdefault("versions", {})

    @staticmethod
    def lineage(opened: fmt.Opened) -> str:
        return "/".join([str(opened.outer["issuer"]), str(opened.manifest["paper"]["id"]), str(opened.outer["kind"]), opened.recipient or "release"])

    def check(self, opened: fmt.Opened) -> None:
        pid = str(opened.outer["package_id"])
        if pid in self.doc["packages"]:
            raise fmt.PackageRejected(f"package {pid} was already opened here on {self.doc['packages'][pid]['opened_at']}: a replay")
        highest = self.doc["versions"].get(self.lineage(opened), 0)
        if int(opened.outer["version"]) <= highest:
            raise fmt.PackageRejected(
                f"package {pid} is version {opened.outer['version']} of {opened.outer['paper']} ({opened.outer['kind']}), "
                f"but version {highest} was already opened here: an old version is refused"
            )

    def remember(self, opened: fmt.Opened, out_dir: Path) -> None:
        pid = str(opened.outer["package_id"])
        self.doc["packages"][pid] = {"opened_at": fmt.utc_text(datetime.now(UTC)), "paper": opened.outer["paper"],
                                     "version": opened.outer["version"], "out": str(out_dir)}  # fmt: skip
        self.doc["versions"][self.lineage(opened)] = int(opened.outer["version"])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.doc, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


def write_files(opened: fmt.Opened, out_dir: Path) -> list[dict[str, Any]]:
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConflictError(f"{out_dir} is not empty; open a package into a new directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / fmt.MANIFEST_NAME).write_text(json.dumps(opened.manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    written = []
    for name, data in opened.files.items():
        (out_dir / name).write_bytes(data)
        written.append({"file": str(out_dir / name), "bytes": len(data)})
    return written


def open_file(path: Path, *, identity: Path, trusted: VerifyKey, out_dir: Path, state: Path | None = None,
              now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    opened = fmt.open_package(read_file(path, "package"), trusted=trusted, now=now or datetime.now(UTC), identities=load_identities(identity))
    memory = OpenedState(state or default_state())
    memory.check(opened)
    files = write_files(opened, out_dir)
    memory.remember(opened, out_dir)
    return _opened_summary(opened, files)


def _opened_summary(opened: fmt.Opened, files: list[dict[str, Any]]) -> dict[str, Any]:
    m = opened.manifest
    return {"package": m["package_id"], "paper": m["paper"]["code"], "kind": m["kind"], "version": m["version"],
            "approved_by": [a["approver"] for a in m["approvals"]], "copies": m.get("copies"), "files": files}  # fmt: skip


def receipt(path: Path, *, identity: Path, sign_key: SigningKey, trusted: VerifyKey, copies: int,
            now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """A signed `printer.received` statement: proves the recipient decrypted this very file."""
    data = read_file(path, "package")
    opened = fmt.open_package(data, trusted=trusted, now=now or datetime.now(UTC), identities=load_identities(identity))
    me = next((r for r in opened.manifest["recipients"] if r["fingerprint"] == opened.recipient), None)
    if me is None or me["party"] != sign_key.name:
        raise ValidationError(f"the signing key is {sign_key.name!r}'s, but the package was opened as {me['party'] if me else 'nobody'!r}")
    if copies < 0:
        raise ValidationError("--copies must be 0 or more")
    event = new_event(
        "printer.received", sign_key.name, paper=opened.outer["paper"], package=opened.outer["package_id"],
        details={"copies": copies, "manifest_sha256": opened.manifest_sha256, "payload_sha256": opened.payload_sha256,
                 "version": opened.outer["version"], "kind": opened.outer["kind"]},
    )  # fmt: skip
    return sign_event(event, sign_key)

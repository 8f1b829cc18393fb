"""k-of-n Shamir shares of the root key, as SLIP-39 mnemonics.

SLIP-39 (the `shamir-mnemonic` package) gives each share an RS1024 checksum, so a
mistyped or corrupt share is caught on its own, and a digest that catches a wrong
combination. The words are easy for a custodian to copy onto paper for a safe.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import shamir_mnemonic as slip39
from shamir_mnemonic.share import Share

from examvault.errors import UnlockError

SHARE_HEADER = "# examvault root-key share"


@dataclass(frozen=True)
class ShareText:
    label: str  # where it came from, for messages (a file name)
    text: str


def split(root_key: bytes, shares: int, threshold: int) -> list[str]:
    if not 1 <= threshold <= shares <= 16:
        raise UnlockError(f"need 1 <= threshold <= shares <= 16, got {threshold} of {shares}")
    groups = slip39.generate_mnemonics(1, [(threshold, shares)], root_key, b"", extendable=True, iteration_exponent=0)
    return list(groups[0])


def mnemonic_of(text: str) -> str:
    """Pull the mnemonic out of a share file, ignoring comment lines."""
    words = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return " ".join(" ".join(words).split())


def combine(share_texts: list[ShareText], purpose: str = "unlock this bank") -> bytes:
    mnemonics = []
    for item in share_texts:
        mnemonic = mnemonic_of(item.text)
        try:
            share = Share.from_mnemonic(mnemonic)
        except slip39.MnemonicError:
            # The library's messages quote share words; ours never do.
            raise UnlockError(
                f"share {item.label} is corrupt or mistyped (its checksum, word list or length does not hold)"
            ) from None
        mnemonics.append((item.label, mnemonic, share))
    if not mnemonics:
        raise UnlockError("no shares given")
    ids = {share.identifier for _l, _m, share in mnemonics}
    if len(ids) > 1:
        raise UnlockError(f"the shares come from different splits; {purpose} needs shares from one split")
    indexes: dict[int, str] = {}
    for label, _m, share in mnemonics:
        if share.index in indexes:
            raise UnlockError(f"shares {indexes[share.index]} and {label} are the same share")
        indexes[share.index] = label
    threshold = mnemonics[0][2].member_threshold
    if len(mnemonics) < threshold:
        raise UnlockError(f"{threshold} shares are needed to {purpose}; {len(mnemonics)} given")
    try:
        return slip39.combine_mnemonics([m for _l, m, _s in mnemonics], b"")
    except slip39.MnemonicError:
        raise UnlockError("the shares do not combine into a key (they are inconsistent with each other)") from None


def write_share_files(out_dir: Path, mnemonics: list[str], threshold: int) -> list[Path]:
    """One file per custodian, readable by its owner only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, words in enumerate(mnemonics, start=1):
        path = out_dir / f"share-{i}-of-{len(mnemonics)}.txt"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{SHARE_HEADER} {i} of {len(mnemonics)}, threshold {threshold}\n{words}\n")
        paths.append(path)
    return paths

"""The tamper-evident custody log: an RFC 6962 Merkle tree of signed events, C2SP checkpoints, proofs.

Pure parts (`merkle`, `note`, `events`, `proofs`) need no bank: a printer or auditor verifies
with them offline. `service` is the bank side.
"""

from examvault.custody.events import EVENT_TYPES, new_event, sign_event
from examvault.custody.merkle import (
    inclusion_path,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from examvault.custody.note import Checkpoint, open_note
from examvault.custody.proofs import verify_doc

__all__ = [
    "EVENT_TYPES",
    "Checkpoint",
    "inclusion_path",
    "leaf_hash",
    "new_event",
    "node_hash",
    "open_note",
    "sign_event",
    "verify_consistency",
    "verify_doc",
    "verify_inclusion",
]

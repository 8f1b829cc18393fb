"""Key hierarchy, AEAD envelope, KDFs, Shamir shares and sealed-record storage.

Recipes over the `cryptography` package's primitives; no primitive is written here.
"""

from examvault.crypto.envelope import canonical_aad, open_record, seal_record
from examvault.crypto.keyring import DOMAINS, Keyring
from examvault.crypto.records import SealedTable, census, open_fields, register, rewrap, seal_fields

__all__ = [
    "DOMAINS",
    "Keyring",
    "SealedTable",
    "canonical_aad",
    "census",
    "open_fields",
    "open_record",
    "register",
    "rewrap",
    "seal_fields",
    "seal_record",
]

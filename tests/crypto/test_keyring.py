from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from examvault.crypto import keyring
from examvault.crypto.records import census, open_fields, rewrap
from examvault.crypto.shares import ShareText
from examvault.errors import KeyRetiredError, UnlockError
from examvault.itembank.models import ITEM_CONTENT, ItemVersion
from examvault.itembank.service import import_items, show_item
from tests.conftest import PASSPHRASE, sample_items, write_json


def _import(bank_as, tmp_path: Path) -> None:
    import_items(bank_as("cust"), write_json(tmp_path / "items.json", sample_items()))


def test_wrong_passphrase_is_refused(make_bank) -> None:
    bank = make_bank("cust", passphrase="not the passphrase")
    with bank.transaction() as s, pytest.raises(UnlockError, match="wrong passphrase"):
        bank.keyring(s)


def test_shares_unlock_and_k_minus_one_or_corrupt_shares_do_not(make_bank) -> None:
    bank = make_bank("cust")
    with bank.transaction() as s:
        words = keyring.split(s, bank.keyring(s), 5, 3)
    texts = [ShareText(f"share-{i}", w) for i, w in enumerate(words, 1)]

    ok = make_bank("cust", unlocker=lambda s: keyring.unlock_with_shares(s, [texts[4], texts[0], texts[2]]))
    with ok.transaction() as s:
        assert ok.keyring(s).bank_id == bank.keyring(s).bank_id

    few = make_bank("cust", unlocker=lambda s: keyring.unlock_with_shares(s, texts[:2]))
    with few.transaction() as s, pytest.raises(UnlockError, match="3 shares are needed.*2 given"):
        few.keyring(s)

    w = words[1].split()
    w[7] = "academic" if w[7] != "academic" else "acid"
    corrupt = [texts[0], ShareText("share-2", " ".join(w)), texts[2]]
    bad = make_bank("cust", unlocker=lambda s: keyring.unlock_with_shares(s, corrupt))
    with bad.transaction() as s, pytest.raises(UnlockError) as exc:
        bad.keyring(s)
    # a fixed message: the library's own would quote share words
    assert str(exc.value) == "share share-2 is corrupt or mistyped (its checksum, word list or length does not hold)"
    w[3] = "notaword"
    bad = make_bank("cust", unlocker=lambda s: keyring.unlock_with_shares(s, [texts[0], ShareText("share-2", " ".join(w))]))
    with bad.transaction() as s, pytest.raises(UnlockError, match="share-2 is corrupt") as exc:
        bad.keyring(s)
    assert "notaword" not in str(exc.value)

    dup = make_bank("cust", unlocker=lambda s: keyring.unlock_with_shares(s, [texts[0], texts[0], texts[1]]))
    with dup.transaction() as s, pytest.raises(UnlockError, match="same share"):
        dup.keyring(s)


def test_shares_of_another_bank_are_refused(make_bank) -> None:
    import os

    from examvault.crypto.shares import split

    bank = make_bank("cust")
    with bank.transaction() as s:
        keyring.split(s, bank.keyring(s), 3, 2)
    foreign = [ShareText(str(i), w) for i, w in enumerate(split(os.urandom(32), 3, 2))]
    other = make_bank("cust", unlocker=lambda s: keyring.unlock_with_shares(s, foreign[:2]))
    with other.transaction() as s, pytest.raises(UnlockError, match="does not unlock this bank"):
        other.keyring(s)


def test_rotate_rewrap_raise_minimum(make_bank, tmp_path: Path) -> None:
    _import(make_bank, tmp_path)
    bank = make_bank("cust")
    with bank.transaction() as s:
        old_row = dict(s.execute(select(ItemVersion.__table__)).mappings().first())
        kr = bank.keyring(s)
        assert keyring.add_version(s, kr, "items") == 2
    with bank.transaction() as s:
        assert census(s, "items")["item_versions"] == {1: 5}
    assert rewrap(bank.factory, kr, "items", batch_size=2) == 5
    with bank.transaction() as s:
        assert census(s, "items")["item_versions"] == {2: 5}
        erased = keyring.raise_minimum(s, kr, "items", 2)
        assert erased == [1]
    # every item still reads, through a freshly unlocked bank
    fresh = make_bank("cust")
    for code in [r["code"] for r in __import__("examvault.itembank.service", fromlist=["x"]).list_items(fresh)]:
        assert show_item(fresh, code)["content"]["stem"]
    # a ciphertext kept from before the rotation is now refused
    with fresh.transaction() as s, pytest.raises(KeyRetiredError, match="retired"):
        open_fields(fresh.keyring(s), ITEM_CONTENT, old_row)


def test_passphrase_change(make_bank) -> None:
    bank = make_bank("cust")
    with bank.transaction() as s:
        keyring.change_passphrase(s, bank.keyring(s), "a brand new passphrase")
    with make_bank("cust", passphrase=PASSPHRASE).transaction() as s, pytest.raises(UnlockError):
        keyring.unlock_with_passphrase(s, PASSPHRASE)
    with make_bank("cust").transaction() as s:
        assert keyring.unlock_with_passphrase(s, "a brand new passphrase").bank_id


def test_rewrap_runs_while_the_bank_is_in_use(make_bank, tmp_path: Path) -> None:
    """Between rewrap batches another user imports and edits: nothing is lost or left behind."""
    from examvault.itembank.service import edit_item, list_items
    from tests.conftest import item_row

    _import(make_bank, tmp_path)
    bank = make_bank("cust")
    with bank.transaction() as s:
        kr = bank.keyring(s)
        keyring.add_version(s, kr, "items")
    other = make_bank("cust")
    codes = [r["code"] for r in list_items(other)]
    calls = []

    def meanwhile(n: int) -> None:
        calls.append(n)
        if len(calls) == 1:
            import_items(other, write_json(tmp_path / "more.json", [item_row(题干=f"轮换期间新增的题目{i}（　）。") for i in range(3)]))
            edit_item(other, codes[0], {"难度": "5"})

    done = rewrap(bank.factory, kr, "items", batch_size=2, on_batch=meanwhile)
    assert len(calls) >= 3
    with bank.transaction() as s:
        assert census(s, "items")["item_versions"] == {2: 5 + 3 + 1}  # edit added a version
    assert done == 5  # the new rows were written under v2 already; only the old five needed work
    for code in [r["code"] for r in list_items(other)]:
        assert show_item(other, code)["content"]["stem"]

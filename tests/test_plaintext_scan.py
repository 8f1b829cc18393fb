"""Plaintext of items and the passphrase never reach the database, its WAL/journal,
a backup, a log or a temp file. The test plants unique strings and scans raw bytes."""

from __future__ import annotations

import gzip
import json
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from examvault.assembly.service import assemble, show_paper, verify_derivation
from examvault.backup import backup
from examvault.crypto import keyring
from examvault.crypto.records import rewrap
from examvault.export.service import render_paper
from examvault.itembank.service import (
    edit_item,
    export_items,
    import_items,
    list_items,
    show_item,
    transition,
)
from examvault.schema import metadata
from tests.conftest import PASSPHRASE, item_row, write_json


def _markers() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {
        "stem": f"题干标记{tag}甲",
        "option": f"选项标记{tag}乙",
        "answer": f"答案标记{tag}丙",
        "analysis": f"解析标记{tag}丁",
        "edited": f"修改后题干{tag}戊",
    }


def _needles(markers: dict[str, str]) -> list[bytes]:
    out = [PASSPHRASE.encode()]
    for m in markers.values():
        raw = m.encode()
        xml_refs = "".join(f"&#{ord(c)};" if ord(c) > 127 else c for c in m).encode()  # how XML writers escape
        out += [raw, raw.hex().encode(), m.encode("utf-16-le"), m.encode("gb18030"), xml_refs]
    return out


def _scan(data: bytes, needles: list[bytes], where: str) -> None:
    for n in needles:
        assert n not in data, f"plaintext {n[:30]!r} found in {where}"


_WATCHED: list[tuple[Path, list[tuple[str, bytes]]]] = []
_HOOKED: list[bool] = []


def _before_removal(event: str, args: tuple) -> None:  # type: ignore[type-arg]
    if event != "os.remove" or not _WATCHED:
        return
    try:
        path, dir_fd = Path(os.fsdecode(args[0])), args[1]
        if dir_fd not in (None, -1) and not path.is_absolute():  # shutil.rmtree removes relative to a directory fd
            path = Path(os.readlink(f"/proc/self/fd/{dir_fd}")) / path
        for root, sink in _WATCHED:
            if str(path).startswith(str(root)) and path.is_file():
                sink.append((str(path), path.read_bytes()))
    except Exception:  # noqa: BLE001 - an audit hook must never break the code it watches
        pass


@contextmanager
def watch_deletions(root: Path) -> Iterator[list[tuple[str, bytes]]]:
    """Files that live only for a moment (a library writing, then deleting, one): an audit hook reads
    every file under `root` just before it is removed — also through tempfile's and shutil.rmtree's
    own calls, which a patched os.unlink would miss. Audit hooks cannot be removed: one serves all."""
    if not _HOOKED:
        sys.addaudithook(_before_removal)
        _HOOKED.append(True)
    vanished: list[tuple[str, bytes]] = []
    _WATCHED.append((root, vanished))
    try:
        yield vanished
    finally:
        _WATCHED.clear()


def scan_bank(url: Any, needles: list[bytes]) -> None:
    """The raw bytes of a SQLite bank and its WAL, or every PostgreSQL table read back as text."""
    if url.get_backend_name() == "sqlite":
        db = Path(str(url.database))
        files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
        assert db in files
        for p in files:  # bank.db, bank.db-wal, bank.db-shm, a journal if any
            _scan(p.read_bytes(), needles, p.name)
        return
    eng = create_engine(url)
    with eng.connect() as conn:
        for t in metadata.sorted_tables:
            for (row_text,) in conn.execute(text(f'SELECT CAST(t AS text) FROM "{t.name}" t')):
                _scan(row_text.encode(), needles, f"PostgreSQL table {t.name}")
    eng.dispose()


def test_no_plaintext_anywhere(make_bank, tmp_path: Path, monkeypatch, caplog) -> None:
    m = _markers()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    with watch_deletions(tmpdir) as vanished:
        log_file = tmp_path / "examvault.log"
        handler = logging.FileHandler(log_file)
        logging.getLogger().addHandler(handler)
        caplog.set_level(logging.DEBUG)
        try:
            rows = [
                item_row(题干=f"{m['stem']}（　）。", 选项B=m["option"], 解析=m["analysis"]),
                item_row(题型="填空", 题干="额定电压为______。", 答案=m["answer"], 选项A="", 选项B="", 选项C="", 选项D=""),
            ]
            bank = make_bank("cust")
            (tmp_path / "in").mkdir()
            codes = import_items(bank, write_json(tmp_path / "in" / "items.json", rows)).codes
            (tmp_path / "in" / "items.json").unlink()  # the user's own file is theirs; the bank must not keep a copy
            assert show_item(bank, codes[0])["content"]["options"]["B"] == m["option"]
            edit_item(bank, codes[0], {"题干": m["edited"]})
            transition(bank, "submit", codes)
            transition(make_bank("rev"), "approve", codes)
            transition(bank, "activate", codes)
            blueprint = {"id": "SCAN", "occupation": "6-31-01-03", "level": 3, "total_points": 1.5, "forms": ["A"],
                         "sections": [{"type": "单选", "count": 1, "points": 0.5}, {"type": "填空", "count": 1, "points": 1}]}  # fmt: skip
            (tmp_path / "in" / "bp.json").write_text(json.dumps(blueprint), "utf-8")
            paper = assemble(bank, str(tmp_path / "in" / "bp.json"), seed=1)[0]
            assert all(i["answer"] for i in show_paper(bank, paper["id"])["items"])  # the form's key was computed…
            assert verify_derivation(bank, paper["id"])["identical"]  # …and nothing of it was stored
            rendered = render_paper(bank, paper["id"], tmp_path / "rendered")  # plaintext only in the files asked for
            assert len(rendered["files"]) == 6  # paper, key, answer sheet + its map (PDF); paper, key (DOCX)
            with bank.transaction() as s:
                keyring.add_version(s, bank.keyring(s), "items")
            with bank.transaction() as s:
                kr = bank.keyring(s)
            rewrap(bank.factory, kr, "items")
            backup(bank, tmp_path / "bank.evb")
            export_dir = tmp_path / "export"
            export_dir.mkdir()
            export_items(bank, export_dir / "items.xlsx")
            list_items(bank)
            bank.close()
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()

    needles = _needles(m)
    scan_bank(bank.engine.url, needles)
    with gzip.open(tmp_path / "bank.evb") as fh:
        _scan(fh.read(), needles, "backup")
    _scan(log_file.read_bytes(), needles, "log file")
    _scan("\n".join(r.getMessage() for r in caplog.records).encode(), needles, "log records")
    for p in tmpdir.rglob("*"):
        if p.is_file():
            _scan(p.read_bytes(), needles, f"temp file {p}")
    for name, data in vanished:
        _scan(data, needles, f"deleted temp file {name}")
    # the export is the one place plaintext is meant to be — proving the markers were real
    from openpyxl import load_workbook

    cells = [str(c) for row in load_workbook(export_dir / "items.xlsx").active.iter_rows(values_only=True) for c in row]
    assert any(m["edited"] in c for c in cells) and any(m["answer"] in c for c in cells)

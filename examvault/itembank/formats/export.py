"""Write items in the import template, so an export can be re-imported as it is.

The workbook is built in memory (xlsxwriter, in_memory): openpyxl writes every sheet to a
temp file first, and an export holds decrypted items. The output appears under its final
name only when complete; a failure leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from examvault.errors import ValidationError
from examvault.itembank.formats.fields import ITEM_FIELDS

_UNSAFE = re.compile(r"[^\w.\-]+")


def write_xlsx(path: Path, headers: list[str], table: list[list[Any]], sheet: str) -> None:
    """A plain workbook, bold header row, written without temp files."""
    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, headers, wb.add_format({"bold": True}))
    for n, row in enumerate(table, start=1):
        ws.write_row(n, 0, ["" if v is None else v for v in row])
    ws.freeze_panes(1, 0)
    wb.close()
    path.write_bytes(buffer.getvalue())


def _write_media(records: list[dict[str, Any]], media_dir: Path) -> None:
    """Images go in a folder beside the export; the 图片 column names them."""
    for rec in records:
        names = []
        for m in rec.pop("media", []) or []:
            media_dir.mkdir(exist_ok=True)
            name = _UNSAFE.sub("_", f"{rec['code']}_{m.name}")  # codes may hold '/'
            (media_dir / name).write_bytes(m.data)
            names.append(f"{media_dir.name}/{name}")
        rec["images"] = "|".join(names)


def write_items(records: list[dict[str, Any]], out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".json"):
        raise ValidationError(f"{out.name}: export format must be .xlsx, .csv or .json")
    media_dir = out.with_name(out.stem + "_images")
    partial = out.with_name(f".{out.name}.partial")
    try:
        _write_media(records, media_dir)
        names = list(ITEM_FIELDS)
        headers = [ITEM_FIELDS[n][0] for n in names]
        table = [[rec.get(n, "") for n in names] for rec in records]
        if suffix == ".json":
            text = json.dumps([dict(zip(headers, row, strict=True)) for row in table], ensure_ascii=False, indent=1)
            partial.write_text(text, "utf-8")
        elif suffix == ".csv":
            with partial.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel then opens it as UTF-8
                writer = csv.writer(fh)
                writer.writerow(headers)
                writer.writerows(table)
        else:
            write_xlsx(partial, headers, table, "题目")
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        shutil.rmtree(media_dir, ignore_errors=True)
        raise

"""Write items in the import template, so an export can be re-imported as it is."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from examvault.errors import ValidationError
from examvault.itembank.formats.fields import ITEM_FIELDS


def _flatten_media(records: list[dict[str, Any]], out: Path) -> None:
    """Images go in a folder beside the export; the 图片 column names them."""
    media_dir = out.with_name(out.stem + "_images")
    for rec in records:
        files = rec.pop("media", []) or []
        names = []
        for m in files:
            media_dir.mkdir(exist_ok=True)
            name = f"{rec['code']}_{m.name}"
            (media_dir / name).write_bytes(m.data)
            names.append(f"{media_dir.name}/{name}")
        rec["images"] = "|".join(names)


def write_items(records: list[dict[str, Any]], out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".json"):
        raise ValidationError(f"{out.name}: export format must be .xlsx, .csv or .json")
    _flatten_media(records, out)
    names = list(ITEM_FIELDS)
    headers = [ITEM_FIELDS[n][0] for n in names]
    table = [[rec.get(n, "") for n in names] for rec in records]
    if suffix == ".json":
        out.write_text(json.dumps([dict(zip(headers, row, strict=True)) for row in table], ensure_ascii=False, indent=1), "utf-8")
    elif suffix == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel then opens it as UTF-8
            writer = csv.writer(fh)
            writer.writerow(headers)
            writer.writerows(table)
    else:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("题目")
        from openpyxl.cell import WriteOnlyCell

        bold = []
        for h in headers:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = Font(bold=True)
            bold.append(cell)
        ws.append(bold)
        for row in table:
            ws.append(row)
        wb.save(out)

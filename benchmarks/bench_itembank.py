"""Item-bank performance: import (CSV, xlsx), bulk decryption, and filtered listing.

    python benchmarks/bench_itembank.py [--items 100000] [--runs 3] [--xlsx-runs 1]

Targets (issue 2): import 100,000 items from CSV at >= 5,000 items/s and from xlsx at
>= 2,000 items/s; decrypt every item of a 100,000-item bank at >= 50,000 items/s on one
core; `item list` by occupation, level and type in <= 200 ms. Timings are medians; each
figure is printed beside a baseline measured in the same process (just parsing the file,
just fetching the rows), because this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from openpyxl import Workbook, load_workbook  # noqa: E402
from sqlalchemy import select  # noqa: E402

from examvault.accounts.service import add_user  # noqa: E402
from examvault.bank import Bank  # noqa: E402
from examvault.crypto import keyring  # noqa: E402
from examvault.crypto.records import open_fields  # noqa: E402
from examvault.itembank.formats.fields import ITEM_FIELDS  # noqa: E402
from examvault.itembank.models import ITEM_CONTENT, ItemVersion  # noqa: E402
from examvault.itembank.outlines import import_outline  # noqa: E402
from examvault.itembank.service import import_items, list_items  # noqa: E402
from examvault.setup import init_bank  # noqa: E402

PASS = "benchmark passphrase"
OCC = "6-31-01-03"
HEADERS = [v[0] for v in ITEM_FIELDS.values()]
CHARS = "电压电流电阻功率变压器绕组铁芯磁通感应电动机转子定子启动制动调速继电器接触器熔断器断路器导线绝缘接地保护测量仪表万用表兆欧表示波器晶闸管二极管三极管放大整流滤波稳压逻辑门触发器计数器寄存器可编程控制器变频器触摸屏伺服步进传感器编码器电缆照明线路负载短路过载欠压失压相序频率相位有功无功视在功率因数"


def outline(levels: range, points_per_level: int) -> list[dict[str, str]]:
    rows = []
    for lvl in levels:
        base = {"职业代码": OCC, "职业名称": "电工", "等级": str(lvl), "类别": "理论"}
        rows.append(base | {"范围代码": "A", "范围名称": "基本要求", "鉴定比重": "30"})
        rows.append(base | {"范围代码": "B", "范围名称": "相关知识", "鉴定比重": "70"})
        for i in range(points_per_level):
            r = "A" if i < points_per_level * 3 // 10 else "B"
            rows.append(base | {"范围代码": r, "鉴定点代码": f"{r}-{i:03d}", "鉴定点名称": f"鉴定点{i}", "重要程度": "XYZ"[i % 10 // 8]})
    return rows


def synthetic_items(n: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lvl = 5 - i % 5
        pt = rng.randrange(40)
        point = f"{'A' if pt < 12 else 'B'}-{pt:03d}"
        stem = "".join(rng.choice(CHARS) for _ in range(rng.randint(28, 60)))
        kind = rng.random()
        row = {h: "" for h in HEADERS} | {"职业代码": OCC, "等级": str(lvl), "鉴定点代码": point, "难度": str(rng.randint(1, 5)),
                                           "来源": "国家题", "出题人": "王建国", "审核人": "赵明", "解析": "依据相关标准。"}  # fmt: skip
        out.append(row | typed_fields(rng, stem, kind, 0.25, 0.85))
    return out


def typed_fields(rng: random.Random, stem: str, kind: float, judge_below: float, single_below: float) -> dict[str, str]:
    """Type, stem, options, answer and points: 判断 below the first share, 单选 below the second, else 多选."""
    if kind < judge_below:
        return {"题型": "判断", "题干": stem + "。", "答案": rng.choice("√×"), "分值": "0.5"}
    if kind < single_below:
        opts = {f"选项{c}": "".join(rng.choice(CHARS) for _ in range(6)) for c in "ABCD"}
        return {"题型": "单选", "题干": stem + "（　）。", **opts, "答案": rng.choice("ABCD"), "分值": "0.5"}
    opts = {f"选项{c}": "".join(rng.choice(CHARS) for _ in range(6)) for c in "ABCDE"}
    return {"题型": "多选", "题干": stem + "（　）。", **opts, "答案": "".join(sorted(rng.sample("ABCDE", 3))), "分值": "1"}


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADERS)
        w.writeheader()
        w.writerows(rows)


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("题目")
    ws.append(HEADERS)
    for r in rows:
        ws.append([r[h] for h in HEADERS])
    wb.save(path)


def fresh_bank(workdir: Path, name: str) -> Bank:
    url = f"sqlite:///{workdir / name}"
    init_bank(url, PASS, admin="admin")
    b = Bank.open(url, actor="admin", unlocker=lambda s: keyring.unlock_with_passphrase(s, PASS))
    with b.transaction() as s:
        add_user(s, "cust", ["custodian", "author"])
    b.actor_name = "cust"
    (workdir / "outline.json").write_text(json.dumps(outline(range(1, 6), 40), ensure_ascii=False), "utf-8")
    import_outline(b, workdir / "outline.json")
    return b


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--xlsx-runs", type=int, default=1)
    args = ap.parse_args()
    n = args.items
    work = Path(tempfile.mkdtemp(prefix="evbench-"))
    rows = synthetic_items(n)
    csv_path, xlsx_path = work / "items.csv", work / "items.xlsx"
    write_csv(csv_path, rows)
    write_xlsx(xlsx_path, rows)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {n:,} synthetic items (60% 单选, 25% 判断, 15% 多选)")

    # --- CSV import
    base = timed(lambda: list(csv.DictReader(csv_path.open(encoding="utf-8"))), args.runs)
    imports = []
    for i in range(args.runs):
        b = fresh_bank(work, f"csv{i}.db")
        imports.extend(timed(lambda b=b: import_items(b, csv_path), 1))
        if i < args.runs - 1:
            b.close()
    last = b
    m = statistics.median(imports)
    print(f"import CSV   : median {m:6.2f} s = {n / m:8,.0f} items/s  (target >= 5,000; baseline csv.DictReader alone {statistics.median(base):.2f} s)")
    b = fresh_bank(work, "csv-activate.db")
    m = timed(lambda: import_items(b, csv_path, activate=True), 1)[0]
    b.close()
    print(f"  --activate : {m:6.2f} s = {n / m:8,.0f} items/s  (also writes one audit event per activated item)")

    # --- xlsx import
    from python_calamine import CalamineWorkbook

    xbase = timed(lambda: list(load_workbook(xlsx_path, read_only=True).worksheets[0].iter_rows(values_only=True)), 1)
    cbase = timed(lambda: CalamineWorkbook.from_path(str(xlsx_path)).get_sheet_by_index(0).to_python(), 3)
    ximports = []
    for i in range(args.xlsx_runs):
        b = fresh_bank(work, f"xlsx{i}.db")
        ximports.extend(timed(lambda b=b: import_items(b, xlsx_path), 1))
        b.close()
    m = statistics.median(ximports)
    print(f"import xlsx  : median {m:6.2f} s = {n / m:8,.0f} items/s  (target >= 2,000; baselines: calamine parse alone {statistics.median(cbase):.2f} s, "
          f"openpyxl read-only parse alone {xbase[0]:.2f} s)")

    # --- decrypt every item, one core (this process is single-threaded)
    with last.transaction() as s:
        kr = last.keyring(s)
        fetch = timed(lambda: s.execute(select(ItemVersion.__table__)).mappings().all(), args.runs)
        version_rows = s.execute(select(ItemVersion.__table__)).mappings().all()

    def decrypt_all() -> None:
        for r in version_rows:
            open_fields(kr, ITEM_CONTENT, r)

    dec = timed(decrypt_all, max(args.runs, 5))
    # Floor: the same number of AES-GCM decryptions of blobs of the same sizes under one key,
    # with none of the envelope's work (AAD, data-key unwrap, lookups).
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sizes = [len(b) - 29 for r in version_rows for b in (r["dek"], r["stem"], r["options"], r["answer"], r["analysis"]) if b]
    aead, nonce = AESGCM(AESGCM.generate_key(256)), os.urandom(12)
    blobs = [aead.encrypt(nonce, os.urandom(n), b"") for n in sizes]

    def raw_gcm() -> None:
        for b in blobs:
            aead.decrypt(nonce, b, b"")

    floor = timed(raw_gcm, 3)
    m = statistics.median(dec)
    print(f"decrypt all  : median {m:6.2f} s = {len(version_rows) / m:8,.0f} items/s, best {len(version_rows) / min(dec):,.0f}/s  (target >= 50,000; "
          f"baselines: fetching the rows {statistics.median(fetch):.2f} s, bare AES-GCM over the same {len(blobs):,} blobs {statistics.median(floor):.2f} s)")

    # --- item list by occupation, level and type
    lst = timed(lambda: list_items(last, occupation=OCC, level=3, type="单选"), 21)
    count = len(list_items(last, occupation=OCC, level=3, type="单选"))
    everything = timed(lambda: list_items(last), 3)
    print(f"item list    : median {statistics.median(lst) * 1000:6.1f} ms for occupation+level+type ({count:,} of {n:,} rows; target <= 200 ms; "
          f"baseline listing all {n:,}: {statistics.median(everything) * 1000:.0f} ms)")  # fmt: skip
    last.close()


if __name__ == "__main__":
    main()

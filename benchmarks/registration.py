"""Registration at province scale: import a 20,000-row registration form, seat it, print the tickets.

    /work/venv/bin/python benchmarks/registration.py [--n 20000] [--photos] [--db URL]

Targets (issue 7): registering 20,000 candidates from xlsx and assigning rooms ≤ 30 s; 20,000
tickets to PDF ≤ 60 s. Steps, each a real service call on a fresh bank:
- write the form (not timed as part of the target);
- baseline: openpyxl read-only pass over the same file (the floor any xlsx import pays);
- import: `import_candidates` — parse, validate every field and the GB 11643 check digit,
  duplicates against the bank, eligibility decided and recorded per row, personal data sealed;
- seat: `seat_session` — rooms made (30 desks, skill stations of 10), units spread, tickets numbered;
- tickets: `print_tickets` — every candidate opened, a token signed per ticket, one batch PDF
  (front and back pages); and the renderer alone on the same tickets, for comparison.
With --photos each candidate has a ~5 KB JPEG (sealed in the bank, printed on the ticket).
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

from examvault.accounts.service import add_user  # noqa: E402
from examvault.bank import Bank  # noqa: E402
from examvault.crypto import keyring  # noqa: E402
from examvault.itembank.outlines import import_outline  # noqa: E402
from examvault.registration.candidates import import_candidates  # noqa: E402
from examvault.registration.identity import check_digit  # noqa: E402
from examvault.registration.plan import create_plan  # noqa: E402
from examvault.registration.service import create_session  # noqa: E402
from examvault.registration.sittings import seat_session  # noqa: E402
from examvault.registration.tickets import print_tickets  # noqa: E402
from examvault.setup import init_bank  # noqa: E402

PASS = "benchmark passphrase 电工"
OCC = "6-31-01-03"
HEADERS = ["姓名", "证件号码", "申报职业代码", "申报等级", "性别", "民族", "文化程度", "手机", "工作单位", "本职业工作年限",
           "原证书编号", "原职业", "原等级", "原证书发证日期", "照片"]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏"
GIVEN = "伟芳娜敏静强磊军洋勇艳杰涛明超霞平刚桂英华建国文斌丽萍志红玲海燕鹏辉俊峰"


def _person(rng: random.Random, n: int, today: date) -> list[str]:
    born = date(1970, 1, 1) + timedelta(days=n % 9000)
    male = rng.random() < 0.7
    first = f"{rng.choice(['360102', '360103', '360121', '361002', '110101'])}{born:%Y%m%d}{(n // 9000) * 2 + (1 if male else 0):03d}"
    number = first + check_digit(first)
    issued = today - timedelta(days=6 * 366 + n % 300)
    return [rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), number, OCC, "三级", "男" if male else "女", "汉族", "高中",
            f"139{n:08d}", f"企业{rng.randrange(400)}", str(5 + n % 10), f"Z{n:08d}", OCC, "四级", issued.isoformat(), ""]  # fmt: skip


def _photo(n: int) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (120, 160), (60 + n % 100, 140, 220))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70, comment=str(n).encode())
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--photos", action="store_true")
    ap.add_argument("--db")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ev-reg-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    print(f"python {platform.python_version()} on {platform.machine()}, {url.split(':')[0]}; {args.n} candidates"
          + (" with photos" if args.photos else ""))  # fmt: skip
    init_bank(url, PASS, institution="基准测试学院", admin="admin")

    def unlock(s: Any) -> Any:
        return keyring.unlock_with_passphrase(s, PASS)

    setup = Bank.open(url, actor="admin", unlocker=unlock)
    with setup.transaction() as s:
        add_user(s, "kaowu", ["exam_admin"], "考务")
        add_user(s, "cust", ["custodian"], "题库")
    outline = Path(__file__).resolve().parent.parent / "examvault" / "demo" / "data" / "outline_L3.json"
    import_outline(Bank.open(url, actor="cust", unlocker=unlock), outline)
    admin = Bank.open(url, actor="kaowu", unlocker=unlock)
    today = date.today()
    year = today.year + 1
    plan = {"year": year, "window": {"open": (today - timedelta(days=1)).isoformat(), "close": (today + timedelta(days=30)).isoformat()},
            "evaluation": {"kind": "S", "institution_code": "0001", "province": "36"},
            "sites": [{"code": "360101", "name": "基准考点"}], "occupations": [{"code": OCC, "levels": [3], "fees": {"3": 250}}]}  # fmt: skip
    (tmp / "plan.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True), "utf-8")
    create_plan(admin, tmp / "plan.yaml")

    rng = random.Random(7)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("报名表")
    ws.append(HEADERS)
    photos = tmp / "photos"
    photos.mkdir()
    for n in range(args.n):
        row = _person(rng, n, today)
        if args.photos:
            (photos / f"{row[1]}.jpg").write_bytes(_photo(n))
        ws.append(row)
    form = tmp / "form.xlsx"
    wb.save(form)
    print(f"form: {form.stat().st_size / 1e6:.1f} MB")

    t0 = time.perf_counter()
    cells = sum(len(r) for r in load_workbook(form, read_only=True).active.iter_rows(values_only=True))
    base = time.perf_counter() - t0
    print(f"baseline  openpyxl read-only pass ({cells} cells):   {base:6.2f} s")

    t0 = time.perf_counter()
    r = import_candidates(admin, year, form, photos=photos)
    t_import = time.perf_counter() - t0
    print(f"import    {r['registered']} registered, {r['accepted']} accepted:  {t_import:6.2f} s  ({r['registered'] / t_import:,.0f} rows/s)")
    create_session(admin, "BENCH", occupation=OCC, level=3, exam_date=today + timedelta(days=40), plan_year=year, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30"})  # fmt: skip
    t0 = time.perf_counter()
    s = seat_session(admin, "BENCH")
    t_seat = time.perf_counter() - t0
    print(f"seat      {s['seated']} candidates, {len(s['rooms'])} rooms, {s['same_unit_neighbours']} same-unit neighbours: {t_seat:6.2f} s")
    print(f"import + seat: {t_import + t_seat:6.2f} s (target ≤ 30 s)")

    t0 = time.perf_counter()
    t = print_tickets(admin, "BENCH", out=tmp / "tickets.pdf")
    t_tickets = time.perf_counter() - t0
    size = (tmp / "tickets.pdf").stat().st_size / 1e6
    print(f"tickets   {t['tickets']} tickets, {size:.0f} MB PDF:  {t_tickets:6.2f} s  ({t['tickets'] / t_tickets:,.0f}/s; target ≤ 60 s for 20,000)")


if __name__ == "__main__":
    main()

"""Admission-ticket rendering: how long a batch of tickets (准考证) takes to become one PDF.

    /work/venv/bin/python benchmarks/tickets_render.py [--n 2000] [--runs 3] [--out tickets.pdf]

Synthetic tickets like a real batch: names drawn from the 3,755 common characters of GB 2312
(so the body font subset is as large as a province-wide batch makes it), two parts per
ticket, a signed token of the real shape, and a 358×441 JPEG photo of ~25 KB per candidate.
Every photo differs by a comment segment, so none is shared between tickets as a real batch
shares none.

Each run renders the batch from cold fonts, as each real batch does (the QR codes are encoded
in a worker process meanwhile), and is split into the font subsetting, timed alone — once per
batch, growing with the distinct characters, not the tickets — and the rest, per ticket.
Printed: each run, the median with min–max, tickets/s, and the time for 20,000 tickets (target:
≤ 60 s on 2 slow cores) = the font subsetting for the characters of 20,000 such names,
measured, + 20,000 × the median time per ticket. `--n 20000` measures it directly. CPU time
of this process is printed too: on a shared machine the wall time says as much about the
neighbours. The first render of a process also parses the font files; it is shown apart and
in no figure.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from examvault.crypto.signing import SigningKey  # noqa: E402
from examvault.crypto.tokens import sign_token  # noqa: E402
from examvault.export import fonts  # noqa: E402
from examvault.export.fonts import register_fonts  # noqa: E402
from examvault.registration.documents import _ticket_body_text, _ticket_heading_text, render_tickets  # noqa: E402

TARGET_TICKETS = 20_000
INSTITUTION = "示范技师学院"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
NOTICES = [
    "考生须凭准考证和有效居民身份证（原件）参加考试，证件不全者不得入场。",
    "考生应提前30分钟到达考点，开考15分钟后不得入场；理论知识考试开考30分钟后方可交卷离场。",
    "除2B铅笔、黑色签字笔、橡皮、无存储功能的计算器外，不得携带任何资料和手机等电子通讯设备进入考场。",
    "考生入场后按座位号就座，将准考证和身份证放在桌面左上角，以便考务人员核验。",
    "操作技能考核时须按规定穿戴劳动防护用品，遵守安全操作规程。",
    "考生应自觉遵守考场纪律，服从考务人员管理；对违纪、作弊者，按有关规定严肃处理。",
]


def common_hanzi() -> str:
    """GB 2312 level 1: the 3,755 most common characters, rows 16–55 of the code table."""
    raw = bytes(b for row in range(0xB0, 0xD8) for col in range(0xA1, 0xFF) for b in (row, col))
    return "".join(ch for ch in raw.decode("gb2312", errors="replace") if ch != "\ufffd")


def base_photo() -> bytes:
    """A 358×441 px JPEG of a typical registration photo's size (noise keeps it from compressing to nothing)."""
    rng = random.Random(7)
    image = Image.new("RGB", (358, 441), (80, 130, 200))
    pixels = image.load()
    for y in range(120, 441):
        for x in range(60, 300):
            v = rng.randint(150, 235)
            pixels[x, y] = (v, v - 30, v - 60) if y < 300 else (v // 5, v // 5, v // 4)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def unique_photo(base: bytes, n: int) -> bytes:
    """The same photo with a COM segment naming the candidate: equal size, different bytes."""
    comment = f"candidate {n:06d}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def synthetic_tickets(n: int, *, photos: bool = True) -> list[dict]:
    """n tickets; without `photos` only their text (no photo, no token), for the font subset."""
    rng = random.Random(1)
    chars = common_hanzi()
    key = SigningKey.generate("示范技师学院")
    photo = base_photo()
    tickets = []
    for i in range(n):
        ticket = f"2600130{i:05d}"
        name = rng.choice(SURNAMES) + "".join(rng.choice(chars) for _ in range(rng.choice((1, 2, 2))))
        session = "202612-电工-3"
        payload = {"ticket": ticket, "candidate": f"C2026{i:07d}", "session": session, "parts": ["theory", "skill"],
                   "valid_from": "2026-12-12", "valid_to": "2026-12-13"}  # fmt: skip
        tickets.append({
            "ticket": ticket, "name": name, "id_number": f"3601021980{i % 10000:04d}123X", "gender": rng.choice("男女"),
            "occupation": "6-31-01-03", "occupation_name": "电工", "level": 3, "level_name": "三级/高级工",
            "session": session, "site": "示范技师学院",
            "parts": [
                {"name": "理论知识考试", "date": "2026-12-12", "start": "09:00", "end": "10:30", "place": "实训楼101室",
                 "room": f"理论{i // 30 + 1:02d}", "seat": i % 30 + 1},
                {"name": "操作技能考核", "date": "2026-12-13", "start": "08:30", "end": "11:30", "place": "电工实训中心",
                 "room": f"实操{i // 10 + 1:02d}", "seat": i % 10 + 1},
            ],
            "photo": unique_photo(photo, i) if photos else None,
            "token": sign_token(key, "admission-ticket", payload) if photos else "",
        })  # fmt: skip
    return tickets


def subset_fonts(tickets: list[dict]) -> float:
    """Seconds to subset the fonts for these tickets from cold, as render_tickets does first (with
    the same text, from its private helpers)."""
    fonts._register.cache_clear()
    t = time.perf_counter()
    register_fonts(_ticket_body_text(tickets, INSTITUTION, NOTICES), _ticket_heading_text(INSTITUTION))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="tickets per batch (default 2000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, help="write the last batch's PDF here to look at it")
    args = ap.parse_args()
    tickets = synthetic_tickets(args.n)
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPU(s); "
          f"{args.n} tickets, {len({c for t in tickets for c in t['name']})} distinct name characters, "
          f"token {len(tickets[0]['token'])} chars, photo {len(tickets[0]['photo']) // 1024} KB")  # fmt: skip
    t = time.perf_counter()
    render_tickets(tickets[:20], institution=INSTITUTION, notices=NOTICES)
    print(f"cold start (font files, 20 tickets): {time.perf_counter() - t:.2f} s")
    totals, per_ticket = [], []
    for run in range(args.runs):
        font_time = subset_fonts(tickets)  # alone, to tell the parts apart
        fonts._register.cache_clear()  # and the render starts cold again
        t, cpu = time.perf_counter(), time.process_time()
        pdf = render_tickets(tickets, institution=INSTITUTION, notices=NOTICES)
        totals.append(time.perf_counter() - t)
        per_ticket.append((totals[-1] - font_time) / args.n)
        print(f"run {run + 1}: {totals[-1]:.2f} s (CPU {time.process_time() - cpu:.2f} s in this process) = fonts "
              f"{font_time:.2f} s + {per_ticket[-1] * 1000:.2f} ms per ticket; {len(pdf) / 2**20:.0f} MiB, "
              f"{2 * args.n} pages, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    total, drawing = statistics.median(totals), statistics.median(per_ticket)
    print(f"median {total:.2f} s (min {min(totals):.2f}, max {max(totals):.2f}): {args.n / total:.0f} tickets/s; "
          f"{drawing * 1000:.2f} ms per ticket besides the fonts")  # fmt: skip
    if args.n != TARGET_TICKETS:
        people = synthetic_tickets(TARGET_TICKETS, photos=False)
        font_time = subset_fonts(people)
        chars = len({c for t in people for c in t["name"]})
        print(f"{TARGET_TICKETS} tickets ≈ {font_time + drawing * TARGET_TICKETS:.0f} s: fonts for their {chars} distinct "
              f"name characters {font_time:.1f} s (measured) + {TARGET_TICKETS} × {drawing * 1000:.2f} ms")  # fmt: skip
    if args.out:
        args.out.write_bytes(pdf)


if __name__ == "__main__":
    main()

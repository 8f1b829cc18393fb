"""Registration documents rendered for real: admission tickets, seating charts, preparation notices,
the 公告 and the certificate. PDFs are opened the way people meet them — poppler's text and
150-dpi pictures, the QR codes read back by zxing-cpp — and the QR encoder is checked module by
module against reportlab's and against the standard's mask penalty."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from pypdf import PdfReader
from reportlab.graphics.barcode import qrencoder

from examvault.crypto.signing import SigningKey
from examvault.crypto.tokens import open_token, sign_token
from examvault.errors import ValidationError
from examvault.export.fonts import register_fonts
from examvault.export.report import ReportDoc, to_docx, to_pdf
from examvault.registration import documents
from examvault.registration.documents import (
    announcement,
    preparation_notice,
    qr_modules,
    render_certificate,
    render_seating_chart,
    render_tickets,
    seat_position,
    wrap,
)

INSTITUTION = "示范技师学院"
KEY = SigningKey.generate(INSTITUTION)
NOTICES = [
    "考生须凭准考证和有效居民身份证（原件）参加考试，证件不全者不得入场。",
    "考生应提前30分钟到达考点，开考15分钟后不得入场；理论知识考试开考30分钟后方可交卷离场。",
    "除2B铅笔、黑色签字笔、橡皮、无存储功能的计算器外，不得携带任何资料和手机等电子通讯设备进入考场。",
    "操作技能考核时须按规定穿戴劳动防护用品，遵守安全操作规程。",
]
THEORY = {"name": "理论知识考试", "date": "2026-12-12", "start": "09:00", "end": "10:30", "place": "实训楼101室",
          "room": "理论01", "seat": 12}  # fmt: skip
SKILL = {"name": "操作技能考核", "date": "2026-12-13", "start": "08:30", "end": "11:30", "place": "电工实训中心",
         "room": "实操03", "seat": 5}  # fmt: skip
REVIEW = {"name": "综合评审", "date": "2026-12-14", "start": "14:00", "end": "17:00", "place": "行政楼305室",
          "room": "评审01", "seat": None}  # fmt: skip


def photo(fmt: str = "JPEG") -> bytes:
    """A small registration photo: a face on blue."""
    image = Image.new("RGB", (180, 230), (80, 130, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((50, 40, 130, 140), fill=(235, 200, 170))
    draw.rectangle((30, 160, 150, 230), fill=(40, 40, 60))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def ticket(number: str, name: str, parts: list[dict[str, Any]], picture: bytes | None) -> dict[str, Any]:
    payload = {"ticket": number, "name": name, "session": "202612-电工-3", "valid_on": "2026-12-12"}
    return {"ticket": number, "name": name, "id_number": "360102198001011234", "gender": "男", "occupation": "6-31-01-03",
            "occupation_name": "电工", "level": 3, "level_name": "三级/高级工", "session": "202612-电工-3",
            "site": INSTITUTION, "parts": parts, "photo": picture, "token": sign_token(KEY, "ticket", payload)}  # fmt: skip


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: Path, page: int) -> str:
    """poppler's text of one page in drawing order, whitespace removed (CJK text has none to lose)."""
    args = ["pdftotext", "-raw", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"]
    return squeeze(subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout)


def qr_codes(pdf: Path, page: int, out_dir: Path) -> list[str]:
    """The QR codes on one page rendered at 150 dpi by poppler, as zxing-cpp reads them."""
    out_dir.mkdir(exist_ok=True)
    args = ["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", str(pdf), str(out_dir / f"p{page}")]  # fmt: skip
    subprocess.run(args, check=True, timeout=120)
    (png,) = out_dir.glob(f"p{page}-*.png")
    with Image.open(png) as image:
        return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def words(pdf: Path, page: int) -> list[tuple[str, float, float]]:
    """(word, x, y) of each word poppler finds on the page, y growing downwards."""
    args = ["pdftotext", "-bbox", "-enc", "UTF-8", "-f", str(page), "-l", str(page), str(pdf), "-"]
    html = subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout
    return [
        (w, float(x), float(y))
        for x, y, w in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html)
    ]


def unprinted(pdf: Path, *strings: str) -> set[str]:
    """Characters of `strings` missing from the PDF's text. A character left out of the font subset
    (`register_fonts`) is drawn as .notdef — a box on paper — and drops out of the text."""
    text = "".join(pdf_text(pdf, page) for page in range(1, len(PdfReader(pdf).pages) + 1))
    return set(squeeze("".join(strings))) - set(text)


# ------------------------------------------------------------------ QR codes


@pytest.mark.parametrize("length", [1, 17, 60, 150, 402, 1000])
def test_qr_modules_match_reportlabs_encoder_for_every_mask(length: int) -> None:
    text = (sign_token(KEY, "ticket", {"n": length}) * 4)[:length]
    modules = qr_modules(text)
    version = (len(modules) - 17) // 4
    for mask in range(8):
        reference = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
        reference.addData(qrencoder.QR8bitByte(text))
        reference.makeImpl(False, mask)
        assert (qr_modules(text, mask) == np.array(reference.modules, bool)).all(), (length, mask)
    if version > 1:  # the smallest version that holds it: the next smaller one is too small
        blocks = qrencoder.QRRSBlock.getRSBlocks(version - 1, qrencoder.QRErrorCorrectLevel.M)
        count_bits = 8 if version - 1 <= 9 else 16
        assert 4 + count_bits + 8 * len(text.encode()) > 8 * sum(b.dataCount for b in blocks)


def reference_penalty(symbol: np.ndarray) -> int:
    """ISO/IEC 18004 §7.8.3, spelled out: N1 runs of 5+ (3 + run − 5), N2 2×2 blocks (3 each), N3
    1:1:3:1:1 with 4 light modules on one side (40 each, outside the symbol light), N4 the dark
    proportion (10 per 5 % beyond 45–55 %)."""
    n, score = len(symbol), 0
    for lines in (symbol, symbol.T):
        for line in lines.tolist():
            run = 1
            for a, b in zip(line, [*line[1:], None], strict=True):
                if a == b:
                    run += 1
                    continue
                score += 3 + run - 5 if run >= 5 else 0
                run = 1
            padded = [False] * 4 + line + [False] * 4
            for i in range(len(padded) - 10):
                window = "".join("1" if x else "0" for x in padded[i : i + 11])
                score += 40 * (window in ("00001011101", "10111010000"))
    blocks = symbol[:-1, :-1]
    score += 3 * int(
        ((blocks == symbol[1:, :-1]) & (blocks == symbol[:-1, 1:]) & (blocks == symbol[1:, 1:])).sum()
    )
    dark = 100 * symbol.sum() / (n * n)
    k = next(k for k in range(10) if 45 - 5 * k <= dark <= 55 + 5 * k)
    return score + 10 * k


@settings(max_examples=25, deadline=None)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.电工",
        min_size=1,
        max_size=120,
    )
)
def test_qr_mask_is_the_one_of_least_penalty(text: str) -> None:
    penalties = [reference_penalty(qr_modules(text, mask)) for mask in range(8)]
    chosen = qr_modules(text)
    assert any((chosen == qr_modules(text, m)).all() for m in range(8) if penalties[m] == min(penalties))


def test_qr_codes_scan_back(tmp_path: Path) -> None:
    for text in (
        "EV1.x",
        sign_token(KEY, "ticket", {"ticket": "260013012034", "seats": [["theory", "理论01", 12, "09:00"]]}),
    ):
        modules = qr_modules(text)
        picture = np.pad(~modules, 4, constant_values=True).repeat(4, 0).repeat(4, 1).astype(np.uint8) * 255
        (found,) = zxingcpp.read_barcodes(Image.fromarray(picture), formats=zxingcpp.BarcodeFormat.QRCode)
        assert found.text == text


# ------------------------------------------------------------------ 准考证


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Three tickets: a JPEG photo and two parts, no photo and three parts, a PNG photo and one part."""
    tickets = [
        ticket("260013012034", "王伟", [THEORY, SKILL], photo("JPEG")),
        ticket("260013012035", "欧阳晓明", [THEORY, SKILL, REVIEW], None),
        ticket("260013012036", "阿卜杜热合曼·买买提", [THEORY], photo("PNG")),
    ]
    pdf = tmp_path_factory.mktemp("tickets") / "tickets.pdf"
    pdf.write_bytes(render_tickets(tickets, institution=INSTITUTION, notices=NOTICES))
    return pdf, tickets


def test_tickets_print_front_and_back_for_each_candidate(batch: tuple[Path, list[dict[str, Any]]]) -> None:
    pdf, tickets = batch
    reader = PdfReader(pdf)
    assert len(reader.pages) == 6
    assert reader.metadata is not None and reader.metadata.title == f"{INSTITUTION} 职业技能等级认定准考证"
    for n, t in enumerate(tickets):
        front, back = pdf_text(pdf, 2 * n + 1), pdf_text(pdf, 2 * n + 2)
        assert f"{INSTITUTION}职业技能等级认定准考证" in front
        assert t["name"] in front and t["ticket"] in front and t["id_number"] in front
        assert (
            "电工（6-31-01-03）" in front
            and "三级/高级工" in front
            and "扫码核验（五对照）" in front
            and "考生签名" in front
        )
        for part in t["parts"]:
            assert (
                part["name"] in front and part["room"] in front and f"{part['start']}-{part['end']}" in front
            )
        assert "考生注意事项" in back and squeeze(NOTICES[1]) in back and back.startswith("考生注意事项1.")
        assert "考生注意事项" not in front.replace("《考生注意事项》", "")
    # the 照片 placeholder when there is no photo (the reminders mention 照片 on every front)
    assert (
        pdf_text(pdf, 3).count("照片")
        == pdf_text(pdf, 1).count("照片") + 1
        == pdf_text(pdf, 5).count("照片") + 1
    )
    assert "—" in pdf_text(pdf, 3)  # the review has no seat


def test_a_single_ticket_is_two_pages(tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    pdf.write_bytes(
        render_tickets(
            [ticket("260013012034", "王伟", [THEORY], None)], institution=INSTITUTION, notices=NOTICES
        )
    )
    assert len(PdfReader(pdf).pages) == 2


def test_ticket_qr_codes_scan_to_their_tokens(
    batch: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    pdf, tickets = batch
    for n, t in enumerate(tickets):
        (text,) = qr_codes(pdf, 2 * n + 1, tmp_path)
        assert text == t["token"]
        assert open_token(KEY.verify_key, text, "ticket")["ticket"] == t["ticket"]
    assert qr_codes(pdf, 2, tmp_path) == []  # nothing to scan on the back


def test_tickets_share_the_back_page_and_embed_jpeg_photos_as_they_are(
    batch: tuple[Path, list[dict[str, Any]]],
) -> None:
    pdf, tickets = batch
    reader = PdfReader(pdf)
    backs = [reader.pages[i].get_contents().get_data() for i in (1, 3, 5)]  # type: ignore[union-attr]
    assert backs[0] == backs[1] == backs[2] and b"/FormXob.ticket-back Do" in backs[0] and len(backs[0]) < 200

    def images(page: int) -> list[Any]:  # image XObjects: the photo; the QR code is an inline image
        xobjects = (x.get_object() for x in reader.pages[page]["/Resources"]["/XObject"].values())
        return [x for x in xobjects if x["/Subtype"] == "/Image"]

    photos = [images(page) for page in (0, 2, 4)]
    assert [len(p) for p in photos] == [1, 0, 1]
    # the candidate's JPEG file itself (DCTDecode), not decoded and encoded again
    assert photos[0][0]["/Filter"] == ["/DCTDecode"] and photos[0][0].get_data() == tickets[0]["photo"]


def test_every_character_a_ticket_prints_has_a_glyph(
    batch: tuple[Path, list[dict[str, Any]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf, tickets = batch
    values = [str(v) for t in tickets for k, v in t.items() if k not in ("parts", "photo", "token")]
    values += [str(v) for t in tickets for p in t["parts"] for v in p.values() if v is not None]
    assert unprinted(pdf, *values, *NOTICES) == set()
    # the check sees a character left out of the fonts
    body_text = documents._ticket_body_text
    monkeypatch.setattr(documents, "_ticket_body_text", lambda *a: body_text(*a).replace("伟", ""))
    boxed = tmp_path / "boxed.pdf"
    boxed.write_bytes(
        render_tickets(
            [ticket("260013012034", "王伟", [THEORY], None)], institution=INSTITUTION, notices=NOTICES
        )
    )
    assert unprinted(boxed, "王伟") == {"伟"}


def test_a_large_batch_has_its_qr_codes_encoded_by_a_worker_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a batch of three counts as large here, and each chunk the worker encodes holds two tickets
    monkeypatch.setattr(documents, "_QR_WORKER_FROM", 3)
    monkeypatch.setattr(documents, "_QR_CHUNK", 2)
    tickets = [
        ticket(f"26001301203{n}", name, [THEORY], None) for n, name in enumerate(["王伟", "李娜", "张敏"])
    ]
    workers = []
    real_pool = documents.ProcessPoolExecutor

    def pool(*args: Any, **kwargs: Any) -> Any:
        workers.append(real_pool(*args, **kwargs))
        return workers[-1]

    monkeypatch.setattr(documents, "ProcessPoolExecutor", pool)
    pdf = tmp_path / "batch.pdf"
    pdf.write_bytes(render_tickets(tickets, institution=INSTITUTION, notices=NOTICES))
    assert len(workers) == 1
    assert [qr_codes(pdf, page, tmp_path) for page in (1, 3, 5)] == [[t["token"]] for t in tickets]

    # no worker process to be had (a daemon process may not start one): the same PDF, made here
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(documents, "ProcessPoolExecutor", refused)
    assert render_tickets(tickets, institution=INSTITUTION, notices=NOTICES) == pdf.read_bytes()
    # a token too long for any QR code is refused, worker or not
    monkeypatch.setattr(documents, "ProcessPoolExecutor", real_pool)
    with pytest.raises(ValidationError, match="do not fit in a QR code"):
        render_tickets(
            [*tickets, tickets[0] | {"token": "x" * 3000}], institution=INSTITUTION, notices=NOTICES
        )


def test_render_tickets_refuses_what_it_cannot_print() -> None:
    good = ticket("260013012034", "王伟", [THEORY], None)
    with pytest.raises(ValidationError, match="no tickets to print"):
        render_tickets([], institution=INSTITUTION, notices=NOTICES)
    with pytest.raises(ValidationError, match="needs the 考生注意事项"):
        render_tickets([good], institution=INSTITUTION, notices=[])
    with pytest.raises(ValidationError, match="ticket 1 lacks id_number, token"):
        render_tickets(
            [{k: v for k, v in good.items() if k not in ("id_number", "token")}],
            institution=INSTITUTION,
            notices=NOTICES,
        )
    with pytest.raises(ValidationError, match="ticket 260013012034, part 理论知识考试 lacks seat"):
        render_tickets(
            [good | {"parts": [{k: v for k, v in THEORY.items() if k != "seat"}]}],
            institution=INSTITUTION,
            notices=NOTICES,
        )
    with pytest.raises(ValidationError, match="ticket 260013012034: the photo is not a JPEG or PNG image"):
        render_tickets([good | {"photo": b"not a picture"}], institution=INSTITUTION, notices=NOTICES)
    with pytest.raises(ValidationError, match="do not fit on the back of the ticket"):
        render_tickets([good], institution=INSTITUTION, notices=NOTICES * 40)
    with pytest.raises(ValidationError, match="ticket 260013012034 has 6 parts; a ticket lists 1 to 5"):
        render_tickets([good | {"parts": [THEORY] * 6}], institution=INSTITUTION, notices=NOTICES)


def test_long_notices_shrink_to_fit_the_back(tmp_path: Path) -> None:
    pdf = tmp_path / "long.pdf"
    notices = NOTICES * 6  # 24 notices: smaller type, still one page
    pdf.write_bytes(
        render_tickets(
            [ticket("260013012034", "王伟", [THEORY], None)], institution=INSTITUTION, notices=notices
        )
    )
    assert len(PdfReader(pdf).pages) == 2 and "24." in pdf_text(pdf, 2)


def test_wrap_keeps_punctuation_and_latin_runs_with_their_line() -> None:
    text = "考生应提前30分钟到达考点，开考15分钟后不得入场；除2B铅笔外，不得携带0791-86123456。"
    lines = wrap(text, register_fonts(text, text).body, 11, 60)
    assert "".join(lines) == text and len(lines) > 5
    assert not any(line[0] in "，。；" for line in lines)
    assert any("0791-86123456" in line for line in lines) and any("2B" in line for line in lines)


# ------------------------------------------------------------------ 考场座位表

SESSION = {"code": "202612-电工-3", "occupation": "6-31-01-03", "occupation_name": "电工", "level_name": "三级/高级工",
           "date": "2026-12-12", "site": INSTITUTION, "institution": INSTITUTION, "part_name": "理论知识考试",
           "start": "09:00", "end": "10:30"}  # fmt: skip
NAMES = ["王伟", "李娜", "张敏", "刘洋", "欧阳晓明", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴芳", "徐强", "孙悦", "马超", "朱琳",
         "胡军", "郭涛", "何平", "高洁", "林峰", "罗兰", "郑凯"]  # fmt: skip


def room(code: str, capacity: int, columns: int, names: list[str]) -> dict[str, Any]:
    seats = [
        {"seat": n, "ticket": f"2600130{n:05d}", "name": name, "id_number": f"36010219800101{n:04d}"}
        for n, name in enumerate(names, 1)
    ]
    return {"room": code, "location": "实训楼101室", "capacity": capacity, "columns": columns, "seats": seats}


def test_seats_snake_from_front_left() -> None:
    # 5 columns of 6: column 1 front to back, column 2 back to front, …
    assert [seat_position(s, 30, 5) for s in (1, 2, 6, 7, 12, 13, 30)] == [
        (0, 0),
        (0, 1),
        (0, 5),
        (1, 5),
        (1, 0),
        (2, 0),
        (4, 5),
    ]
    assert seat_position(28, 28, 5) == (4, 3)  # a short last column


def test_seating_chart_posts_each_room_on_its_own_page(tmp_path: Path) -> None:
    pdf = tmp_path / "座位表.pdf"
    rooms = [room("理论01", 30, 5, NAMES), room("理论02", 40, 8, NAMES[:5])]
    pdf.write_bytes(render_seating_chart(SESSION, rooms))
    assert len(PdfReader(pdf).pages) == 2
    for page, r in enumerate(rooms, 1):
        text = pdf_text(pdf, page)
        assert (
            "考场座位表" in text
            and f"考场：{r['room']}" in text
            and "讲台" in text
            and "监考员（签名）" in text
        )
        assert "202612-电工-3" in text and "电工（6-31-01-03）" in text and "2026-12-1209:00-10:30" in text
        assert all(s["name"] in text and s["ticket"] in text for s in r["seats"])
        assert not any(s["id_number"] in text for s in r["seats"])  # ID numbers are never posted at the door
        assert f"{len(r['seats'])}人" in text and f"共{r['columns']}列" in text
    assert unprinted(pdf, *SESSION.values(), *NAMES) == set()


def test_seating_chart_draws_the_desks_where_seat_position_says(tmp_path: Path) -> None:
    pdf = tmp_path / "座位表.pdf"
    pdf.write_bytes(render_seating_chart(SESSION, [room("理论01", 30, 5, NAMES)]))
    at = {w: (x, y) for w, x, y in words(pdf, 1) if re.fullmatch(r"\d\d", w)}
    assert sorted(at) == [f"{n:02d}" for n in range(1, 31)]  # every desk, the empty ones too
    podium = next((x, y) for w, x, y in words(pdf, 1) if w.startswith("讲"))
    xs = sorted({round(x) for x, _ in at.values()})
    ys = sorted({round(y) for _, y in at.values()})
    assert len(xs) == 5 and len(ys) == 6 and podium[1] < ys[0]  # the 讲台 above the front row
    for seat in range(1, 31):
        column, row = seat_position(seat, 30, 5)
        x, y = at[f"{seat:02d}"]
        assert (round(x), round(y)) == (xs[column], ys[row]), seat


def test_seating_chart_refuses_seats_outside_the_room() -> None:
    with pytest.raises(ValidationError, match="room 理论01 seats 3; seat\\(s\\) 4, 5 are not in it"):
        render_seating_chart(SESSION, [room("理论01", 3, 2, NAMES[:5])])
    twice = room("理论01", 30, 5, NAMES[:2])
    twice["seats"][1]["seat"] = 1
    with pytest.raises(ValidationError, match="a seat number is given twice"):
        render_seating_chart(SESSION, [twice])
    with pytest.raises(ValidationError, match="the session lacks part_name"):
        render_seating_chart(
            {k: v for k, v in SESSION.items() if k != "part_name"}, [room("理论01", 30, 5, NAMES)]
        )


# ------------------------------------------------------------------ 考场准备通知单

NOTICE_DATA = {"institution": INSTITUTION, "session": "202612-电工-3", "occupation": "6-31-01-03", "occupation_name": "电工",
               "level_name": "三级/高级工", "date": "2026-12-12", "site": INSTITUTION,
               "parts": [{"name": "理论知识考试", "start": "09:00", "end": "10:30"}]}  # fmt: skip


def rendered(doc: ReportDoc, tmp_path: Path, name: str) -> str:
    """The document as PDF (its text) and as DOCX (that it opens)."""
    import docx

    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(to_pdf(doc))
    word = docx.Document(io.BytesIO(to_docx(doc)))
    assert doc.title in "".join(p.text for p in word.paragraphs)
    return "".join(pdf_text(pdf, p) for p in range(1, len(PdfReader(pdf).pages) + 1))


def test_theory_preparation_notice(tmp_path: Path) -> None:
    rooms = [{"room": "理论01", "location": "实训楼101室", "capacity": 30, "candidates": 28, "invigilators_needed": 2},
             {"room": "理论02", "location": "实训楼102室", "capacity": 40, "candidates": 38, "invigilators_needed": 3}]  # fmt: skip
    doc = preparation_notice("theory", NOTICE_DATA | {"rooms": rooms})
    assert doc.title == "理论考场准备通知单" and doc.institution == INSTITUTION
    assert [s.heading for s in doc.sections] == ["一、考试安排", "二、考场要求", "三、准备清单"]
    (schedule,) = doc.sections[0].tables
    assert schedule.columns == ["考场", "地点", "座位数", "考生人数", "应配监考人员"]
    assert schedule.rows == [
        ["理论01", "实训楼101室", "30", "28", "2"],
        ["理论02", "实训楼102室", "40", "38", "3"],
        ["合计", "", "70", "66", "5"],
    ]
    requirements = "".join(doc.sections[1].paragraphs)
    for rule in (
        "单人单桌",
        "座位间距不小于80厘米",
        "考场门口张贴考场座位表",
        "时钟",
        "监控设备运行正常",
        "统一存放",
        "1:15",
        "不少于2名",
    ):
        assert rule in requirements
    checklist = [row[1] for row in doc.sections[2].tables[0].rows]
    assert "考场座位表（张贴于考场门口）" in checklist and "时钟" in checklist
    assert doc.signatures == ["考务负责人（签名）", "考场负责人（签名）"]
    text = rendered(doc, tmp_path, "theory")
    assert "理论考场准备通知单" in text and "应配监考人员" in text and "考务负责人（签名）" in text


def test_skill_preparation_notice_lists_the_equipment_given(tmp_path: Path) -> None:
    rooms = [
        {
            "room": "实操01",
            "location": "电工实训中心",
            "capacity": 10,
            "candidates": 10,
            "examiners_needed": 3,
        }
    ]
    equipment = ["低压配电实训台 10 套", "万用表、兆欧表各 10 块"]
    doc = preparation_notice("skill", NOTICE_DATA | {"rooms": rooms, "equipment": equipment})
    assert doc.title == "实操考场准备通知单"
    assert (
        doc.sections[0].tables[0].columns[-1] == "应配考评员" and doc.sections[0].tables[0].rows[0][-1] == "3"
    )
    requirements = "".join(doc.sections[1].paragraphs)
    assert all(
        rule in requirements
        for rule in ("工位编号", "准备清单", "调试", "安全防护", "1:5", "不少于3名且为奇数")
    )
    assert [row[1] for row in doc.sections[2].tables[0].rows] == equipment
    assert "低压配电实训台10套" in rendered(doc, tmp_path, "skill")
    default = preparation_notice("skill", NOTICE_DATA | {"rooms": rooms})
    assert "工位编号牌" in [row[1] for row in default.sections[2].tables[0].rows]


def test_preparation_notice_refuses_unknown_kinds_and_missing_counts() -> None:
    with pytest.raises(ValidationError, match="kind 'defence' is not theory"):
        preparation_notice("defence", NOTICE_DATA | {"rooms": []})
    with pytest.raises(ValidationError, match="room 理论01 lacks invigilators_needed"):
        preparation_notice(
            "theory",
            NOTICE_DATA | {"rooms": [{"room": "理论01", "location": "", "capacity": 30, "candidates": 28}]},
        )


# ------------------------------------------------------------------ 公告

PLAN = {
    "year": 2027, "title": "2027年度职业技能等级认定工作计划", "window": {"open": "2027-03-01", "close": "2027-03-31"},
    "evaluation": {"kind": "S", "institution_code": "0001", "province": "36"},
    "sites": [{"code": "360101", "name": INSTITUTION, "address": "南昌市青山湖区示范路1号"}],
    "occupations": [
        {"code": "6-31-01-03", "name": "电工", "levels": [5, 4, 3, 2, 1], "fees": {"5": 150, "4": 200, "3": 250, "2": 400, "1": 500},
         "sessions": ["2027-05", "2027-11"]},
        {"code": "6-18-02-04", "name": "焊工", "levels": [4], "fees": {"4": 210}, "sessions": ["2027-06"]},
    ],
    "eligibility": {"6-31-01-03": {"3": ["取得本职业四级/中级工证书后，累计从事本职业工作满5年。", "取得本职业四级/中级工证书，并具有技师学院毕业证书。"]}},
    "contact": "0791-86123456", "notes": ["认定费用按核定标准收取。"],
}  # fmt: skip


def test_announcement(tmp_path: Path) -> None:
    doc = announcement(PLAN, INSTITUTION)
    assert doc.title == f"{INSTITUTION}2027年职业技能等级认定公告"
    assert [s.heading for s in doc.sections] == [
        "一、认定职业（工种）及等级",
        "二、申报条件",
        "三、报名时间与方式",
        "四、认定地点",
        "五、其他事项",
    ]
    (levels,) = doc.sections[0].tables
    assert levels.columns == ["职业代码", "职业（工种）", "等级", "收费标准（元）", "认定批次"]
    assert levels.rows[0] == ["6-31-01-03", "电工", "五级/初级工", "150", "2027年5月、2027年11月"]
    assert [r[2] for r in levels.rows] == [
        "五级/初级工",
        "四级/中级工",
        "三级/高级工",
        "二级/技师",
        "一级/高级技师",
        "四级/中级工",
    ]
    conditions = doc.sections[1].paragraphs
    at = conditions.index("电工（6-31-01-03）三级/高级工，具备以下条件之一者可申报：")
    assert conditions[at + 1] == "（1）取得本职业四级/中级工证书后，累计从事本职业工作满5年。"
    assert conditions[-2:] == [
        "电工（6-31-01-03）五级/初级工、四级/中级工、二级/技师、一级/高级技师：按国家职业标准规定的申报条件执行。",
        "焊工（6-18-02-04）四级/中级工：按国家职业标准规定的申报条件执行。",
    ]
    assert "报名时间：2027年3月1日至2027年3月31日。" in doc.sections[2].paragraphs
    assert doc.sections[3].tables[0].rows == [["360101", INSTITUTION, "南昌市青山湖区示范路1号"]]
    assert doc.sections[4].paragraphs == [
        "1. 认定费用按核定标准收取。",
        "咨询电话：0791-86123456",
        "特此公告。",
    ]
    assert ("评价机构", f"{INSTITUTION}（社会培训评价组织，代码0001）") in doc.fields
    text = rendered(doc, tmp_path, "announcement")
    assert doc.title in text and "一级/高级技师" in text and "累计从事本职业工作满5年" in text


# ------------------------------------------------------------------ 职业技能等级证书

CERT = {"number": "S00013636010126300001", "name": "王伟", "gender": "男", "id_number": "360102198001011234",
        "occupation": "6-31-01-03", "occupation_name": "电工", "level": 3, "level_name": "三级/高级工",
        "issued_on": "2026-12-20", "institution": INSTITUTION, "photo": None, "form_serial": None,
        "token": sign_token(KEY, "certificate", {"number": "S00013636010126300001"})}  # fmt: skip


@pytest.mark.parametrize("picture", [None, "JPEG", "PNG"])
def test_certificate(tmp_path: Path, picture: str | None) -> None:
    pdf = tmp_path / "certificate.pdf"
    cert = CERT | {
        "photo": photo(picture) if picture else None,
        "form_serial": "JX2026000123" if picture else None,
    }
    pdf.write_bytes(render_certificate(cert))
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1 and [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [
        842,
        595,
    ]  # A4 landscape
    text = pdf_text(pdf, 1)
    assert (
        "职业技能等级证书" in text and CERT["number"] in text and "王伟" in text and CERT["id_number"] in text
    )
    assert "2026年12月20日" in text and "电工（6-31-01-03）" in text and "三级/高级工" in text
    assert f"本证书由{INSTITUTION}颁发，可通过扫描二维码查验真伪" in text and "扫码验证" in text
    assert ("照片" in text) == (picture is None) and ("印制编号：JX2026000123" in text) == (
        picture is not None
    )
    (scanned,) = qr_codes(pdf, 1, tmp_path)
    assert (
        scanned == CERT["token"]
        and open_token(KEY.verify_key, scanned, "certificate")["number"] == CERT["number"]
    )
    assert (
        unprinted(pdf, *(str(v) for k, v in cert.items() if k not in ("photo", "token", "level") and v))
        == set()
    )

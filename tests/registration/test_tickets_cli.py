"""From a plan to the door, through the CLI as the exam administration runs it: real processes on a
temporary bank, exit codes, `error: …` messages, and the PDFs opened (pages, text, the QR code).
Then ticket numbers: every number made is valid, and the check digit catches what Luhn catches."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import docx
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey
from examvault.errors import ConflictError
from examvault.registration.sittings import luhn, ticket_number, ticket_problem
from examvault.registration.tickets import verify_ticket
from tests.conftest import OCC, PASSPHRASE, cli_walkthrough
from tests.registration.conftest import EXAM_DATE, JPEG, YEAR, id_number, person, write_form, write_plan

SESSION = f"{YEAR}-05-电工-3"


def run(
    args: list[str], env: dict[str, str], cwd: Path, *, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "examvault", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok:
        assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return p


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])  # type: ignore[index]


def pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", *pages, str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def qr_codes(pdf: Path, page: int, out_dir: Path) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", str(pdf), str(out_dir / "p")],
        check=True,
        timeout=120,
    )
    (png,) = out_dir.glob("p-*.png")
    with Image.open(png) as image:
        return [f.text for f in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.fixture
def cli_env(make_bank: Callable[..., Bank], db_url: str, tmp_path: Path) -> dict[str, str]:
    """The test bank (users, the 电工 level-3 outline; tests/conftest.py), the exam administrator acting,
    and next year's plan created with `plan create`."""
    make_bank("kaowu")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMVAULT_")}
    env |= {"EXAMVAULT_DB": db_url, "EXAMVAULT_PASSPHRASE": PASSPHRASE, "EXAMVAULT_USER": "kaowu"}
    p = run(["plan", "create", str(write_plan(tmp_path / "plan.yaml"))], env, tmp_path)
    assert f"plan {YEAR}: 1 occupation(s), 1 site(s)" in p.stderr
    return env


@cli_walkthrough
def test_from_registration_to_the_door(cli_env: dict[str, str], tmp_path: Path) -> None:
    env, here = cli_env, tmp_path

    # a form with a mistyped ID number: refused whole, located, no traceback, nothing registered
    bad = id_number(2)[:17] + ("0" if id_number(2)[17] != "0" else "1")
    p = run(["candidate", "import", str(write_form(here / "bad.xlsx", [person(1), person(2, 证件号码=bad)])), "--plan", str(YEAR)],
            env, here, ok=False)  # fmt: skip
    assert p.returncode == 3 and p.stderr.startswith("error: ")
    assert (
        "bad.xlsx, row 3, column C (证件号码): the check digit is wrong" in p.stderr
        and "nothing was imported" in p.stderr
    )
    assert bad not in p.stderr + p.stdout
    assert json.loads(run(["candidate", "list", "--json"], env, here).stdout) == []

    # the form, with a folder of photos named by ID number
    photos = here / "photos"
    photos.mkdir()
    for n in range(1, 7):
        (photos / f"{id_number(n)}.jpg").write_bytes(JPEG)
    form = write_form(here / "form.xlsx", [person(n) for n in range(1, 7)])
    r = json.loads(
        run(
            ["candidate", "import", str(form), "--plan", str(YEAR), "--photos", str(photos), "--json"],
            env,
            here,
        ).stdout
    )
    assert (r["registered"], r["accepted"], r["refused"]) == (6, 6, 0) and all(
        c["photo"] for c in r["candidates"]
    )
    listed = json.loads(run(["candidate", "list", "--plan", str(YEAR), "--json"], env, here).stdout)
    assert len(listed) == 6
    for n, c in enumerate(listed, 1):
        assert {"id", "name", "id_number_masked", "occupation", "level", "status"} <= set(
            c
        ) and "id_number" not in c
        assert (c["name"], c["occupation"], c["level"], c["status"]) == (f"考生{n:03d}", OCC, 3, "accepted")
        assert c["id_number_masked"] == id_number(n)[:4] + "*" * 10 + id_number(n)[-4:]

    # the sitting: two theory rooms of 4 desks (3 + 3) and one skill station
    run(["session", "create", SESSION, "--occupation", OCC, "--level", "3", "--date", EXAM_DATE.isoformat(), "--plan", str(YEAR),
         "--site-code", "360101", "--theory", "09:00-10:30", "--skill", "13:30-16:30"], env, here)  # fmt: skip
    seated = json.loads(
        run(["session", "seat", SESSION, "--theory-capacity", "4", "--json"], env, here).stdout
    )
    assert (seated["seated"], seated["seats"]) == (6, 12)
    assert sorted((x["room"], x["kind"], x["capacity"], x["candidates"]) for x in seated["rooms"]) == [
        ("实操01", "skill", 10, 6), ("理论01", "theory", 4, 3), ("理论02", "theory", 4, 3)]  # fmt: skip
    cands = json.loads(run(["candidate", "list", "--session", SESSION, "--json"], env, here).stdout)
    tickets = {c["name"]: c["ticket"] for c in cands}
    assert len(set(tickets.values())) == 6 and all(ticket_problem(t) is None for t in tickets.values())
    theory_room = {c["name"]: next(s["room"] for s in c["seats"] if s["part"] == "theory") for c in cands}
    # numbered 1–6 in room and seat order, after the plan year, the session's serial 001 and the level
    by_desk = sorted(
        cands, key=lambda c: next((s["room"], s["seat"]) for s in c["seats"] if s["part"] == "theory")
    )
    assert [c["ticket"][:11] for c in by_desk] == [f"{YEAR % 100}0013{n:05d}" for n in range(1, 7)]

    # the seating chart: a page per theory room, the 讲台 and who sits there
    chart = here / "out" / "座位表.pdf"
    run(["session", "chart", SESSION, "--out", str(chart)], env, here)
    assert pdf_pages(chart) == 2
    for page, room in ((1, "理论01"), (2, "理论02")):
        text = squeeze(pdf_text(chart, page))
        assert "讲台" in text and "考场座位表" in text and room in text
        for name, where in theory_room.items():
            assert ((name in text) and (tickets[name] in text)) == (where == room), (name, room)
        assert not any(id_number(n) in text for n in range(1, 7))  # never ID numbers on the door

    # the preparation notices for the site
    run(["session", "notices", SESSION, "--out", str(here / "notices")], env, here)
    for title in ("理论考场准备通知单", "实操考场准备通知单"):
        pdf, word = here / "notices" / f"{SESSION}-{title}.pdf", here / "notices" / f"{SESSION}-{title}.docx"
        assert title in squeeze(pdf_text(pdf))
        paragraphs = "".join(p.text for p in docx.Document(str(word)).paragraphs)
        assert title in squeeze(paragraphs)

    # the tickets: a batch PDF, front and back per candidate, and one PDF each
    run(["institution", "key", "--out", str(here / "institution.vkey")], env, here)
    run(
        ["ticket", "print", SESSION, "--out", str(here / "batch.pdf"), "--split", str(here / "each")],
        env,
        here,
    )
    assert pdf_pages(here / "batch.pdf") == 12
    each = sorted((here / "each").glob("准考证-*.pdf"))
    assert [f.name for f in each] == sorted(f"准考证-{t}.pdf" for t in tickets.values()) and all(
        pdf_pages(f) == 2 for f in each
    )
    first_ticket = min(tickets.values())  # the batch is in ticket order
    first_name = next(n for n, t in tickets.items() if t == first_ticket)
    front = squeeze(pdf_text(here / "batch.pdf", 1))
    assert first_name in front and first_ticket in front and "准考证" in front
    assert (
        id_number(int(first_name[-3:])) in front
    )  # the ticket is the candidate's own: the full ID number, for 五对照
    assert "考生注意事项" in squeeze(pdf_text(here / "batch.pdf", 2)) and "考生注意事项" not in front.replace(
        "《考生注意事项》", ""
    )

    # the QR code on the front decodes to a token the institution's key verifies
    (token,) = qr_codes(here / "batch.pdf", 1, here / "png")
    trust = VerifyKey.load(here / "institution.vkey")
    payload = verify_ticket(token, trust, on=EXAM_DATE, session_code=SESSION)
    assert (payload["ticket"], payload["name"], payload["session"]) == (first_ticket, first_name, SESSION)
    assert [s[:2] for s in payload["seats"]] == [["theory", theory_room[first_name]], ["skill", "实操01"]]
    (here / "token.txt").write_text(token + "\n", "utf-8")
    for given_as in (token, "@" + str(here / "token.txt")):
        shown = json.loads(run(["ticket", "verify", given_as, "--trust", str(here / "institution.vkey"), "--on", EXAM_DATE.isoformat(),
                                "--json"], env, here).stdout)  # fmt: skip
        assert shown == payload
    p = run(["ticket", "verify", token, "--trust", str(here / "institution.vkey"), "--on", (EXAM_DATE + timedelta(days=1)).isoformat()],
            env, here, ok=False)  # fmt: skip
    assert p.returncode == 8 and p.stderr.startswith(f"error: this ticket is for {EXAM_DATE.isoformat()}")
    p = run(["ticket", "verify", token, "--on", EXAM_DATE.isoformat()], env, here, ok=False)
    assert p.returncode == 2 and "error: name the institution's verifier key" in p.stderr

    # the door: on time, late by the scanned token, too late; then the rest are absent
    others = sorted(t for t in tickets.values() if t != first_ticket)
    day = EXAM_DATE.isoformat()
    r = json.loads(
        run(["attendance", "record", SESSION, others[0], "--at", f"{day}T08:45", "--json"], env, here).stdout
    )
    assert (r["status"], r["admitted"]) == ("present", True)
    r = json.loads(
        run(["attendance", "record", SESSION, token, "--at", f"{day}T09:20", "--json"], env, here).stdout
    )
    assert (r["ticket"], r["status"], r["minutes_late"], r["admitted"]) == (first_ticket, "late", 20, True)
    r = json.loads(
        run(["attendance", "record", SESSION, others[1], "--at", f"{day}T09:31", "--json"], env, here).stdout
    )
    assert (r["status"], r["admitted"]) == ("refused", False)
    p = run(["attendance", "record", SESSION, others[0], "--at", f"{day}T08:50"], env, here, ok=False)
    assert p.returncode == 5 and "error: ticket" in p.stderr and "already recorded" in p.stderr
    p = run(["attendance", "close", SESSION, "--part", "theory", "--at", f"{day}T09:29"], env, here, ok=False)
    assert p.returncode == 5 and p.stderr.startswith(f"error: entry to 理论知识考试 closes at {day} 09:30")
    p = run(["attendance", "close", SESSION, "--part", "theory", "--at", f"{day}T09:30"], env, here)
    assert f"{SESSION} theory: 3 marked absent" in p.stderr
    shown = json.loads(run(["attendance", "show", SESSION, "--part", "theory", "--json"], env, here).stdout)
    total = {
        k: sum(x[k] for x in shown["rooms"])
        for k in ("seated", "present", "late", "refused", "absent", "unrecorded")
    }
    assert total == {"seated": 6, "present": 1, "late": 1, "refused": 1, "absent": 3, "unrecorded": 0}
    assert sorted(x["room"] for x in shown["rooms"]) == ["理论01", "理论02"]


# ------------------------------------------------------------------ ticket numbers

TICKET_INPUTS = dict(plan_year=st.integers(2000, 2099), serial=st.integers(1, 999), level=st.integers(1, 5),
                     sequence=st.integers(1, 99_999))  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(**TICKET_INPUTS)
def test_every_ticket_number_made_is_valid_and_readable(
    plan_year: int, serial: int, level: int, sequence: int
) -> None:
    t = ticket_number(plan_year, serial, level, sequence)
    assert ticket_problem(t) is None and len(t) == 12
    assert (int(t[:2]), int(t[2:5]), int(t[5]), int(t[6:11])) == (plan_year % 100, serial, level, sequence)


@settings(max_examples=60, deadline=None)
@given(**TICKET_INPUTS)
def test_the_check_digit_catches_every_typo_and_every_swap_but_09(
    plan_year: int, serial: int, level: int, sequence: int
) -> None:
    t = ticket_number(plan_year, serial, level, sequence)
    for i in range(12):
        for d in "0123456789":
            if d != t[i]:
                assert (
                    ticket_problem(t[:i] + d + t[i + 1 :])
                    == "the check digit is wrong: the number is mistyped"
                )
    for i in range(11):
        a, b = t[i], t[i + 1]
        if a != b:
            swapped = t[:i] + b + a + t[i + 2 :]
            assert (ticket_problem(swapped) is None) == ({a, b} == {"0", "9"}), (t, i)


def test_the_luhn_blind_spot_is_reachable() -> None:
    # a 0 beside a 9 swaps unnoticed: a doubled 9 (18 → 9) and an undoubled 0 sum as an undoubled 9 and a doubled 0
    t = ticket_number(2027, 90, 3, 9)
    assert t[2:5] == "090" and ticket_problem(t) is None
    swapped = t[:3] + "09" + t[5:]
    assert swapped != t and ticket_problem(swapped) is None


def test_luhn_known_values() -> None:
    assert luhn("7992739871") == "3"  # the textbook example
    assert ticket_number(2027, 1, 3, 1) == "270013000012"  # 2·1 + 3 + 2·1 + 7 + 2·2 = 18 → 2


@pytest.mark.parametrize(
    "text", ["", "27001300001", "2700130000120", "27001300001X", "２７００１３００００１２", " 270013000012"]
)
def test_a_ticket_number_has_twelve_ascii_digits(text: str) -> None:
    assert ticket_problem(text) == "a ticket number has 12 digits"


@pytest.mark.parametrize("sequence", [0, 100_000])
def test_a_session_numbers_at_most_99999_tickets(sequence: int) -> None:
    with pytest.raises(ConflictError, match="at most 99,999 tickets"):
        ticket_number(2027, 1, 3, sequence)

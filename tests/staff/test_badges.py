"""Staff badges (工作证): signed QR tokens, the signed revocation list, the offline and online door checks,
the printed sheet (a real PDF whose QR codes scan back to the issued tokens) and the CLI.

The `sitting` fixture (tests/staff/conftest.py) registers the people; badges go only to people
holding an open post, so each test first puts some of them on duty.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from examvault.accounts.models import AuditEvent
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json
from examvault.crypto.tokens import open_token, sign_token
from examvault.custody.service import institution_key, institution_signing_key
from examvault.errors import IntegrityError, ValidationError
from examvault.staff.badges import (
    BADGE,
    REVOCATIONS_FORMAT,
    BadgeRefused,
    check_badge,
    issue_badges,
    render_badges,
    revocation_list,
    verify_badge,
)
from examvault.staff.service import assign, record_sanction, set_status, unassign
from tests.conftest import PASSPHRASE, cli_walkthrough
from tests.staff.conftest import EXAM_DATE, SESSION, Sitting

ON_DUTY = ["JK1", "JK2", "KP1", "KP2", "KP3"]


def _on_duty(s: Sitting) -> None:
    assign(s.admin, s.session, "invigilator", ["JK1", "JK2"], room="T01")
    assign(s.admin, s.session, "examiner", ["KP1", "KP2", "KP3"], room="K01")


def _everyone_on_duty(s: Sitting) -> None:
    _on_duty(s)
    assign(s.admin, s.session, "invigilator", ["JK3", "JK4"], room="T02")
    assign(s.admin, s.session, "chief_examiner", ["GK1"])
    assign(s.admin, s.session, "supervisor", ["DD1"])
    assign(s.admin, s.session, "marker", ["KP4"], task="简答题 41-45")


def _trusted(s: Sitting) -> VerifyKey:
    return VerifyKey.parse(institution_key(s.admin))


@pytest.fixture
def badges(sitting: Sitting) -> dict[str, str]:
    """Staff code → badge token for the five people put on duty."""
    _on_duty(sitting)
    return {b["staff"]: b["token"] for b in issue_badges(sitting.admin, sitting.session)}


def _sign_list(key: SigningKey, body: dict[str, Any]) -> dict[str, Any]:
    """A revocation list document exactly as revocation_list() builds it, signed by `key`."""
    return {"list": body, "signature": key.sign("revocations", canonical_json(body))}


def _institution_key(s: Sitting) -> SigningKey:
    with s.admin.transaction() as session:
        return institution_signing_key(session, s.admin.keyring(session))


# ------------------------------------------------------------------ issuing


def test_badges_are_issued_to_the_people_on_duty(sitting: Sitting) -> None:
    _on_duty(sitting)
    issued = issue_badges(sitting.admin, sitting.session)
    assert [b["staff"] for b in issued] == ON_DUTY  # not JK3, JK4, KP4, GK1, DD1: they hold no post
    trusted = _trusted(sitting)
    by_code = {b["staff"]: b for b in issued}
    for b in issued:
        opened = open_token(trusted, b["token"], BADGE)
        assert opened == b["payload"] | {"kind": BADGE, "signer": trusted.name, "key_id": trusted.key_id}
        assert b["name"] == f"人员{b['staff']}" == opened["name"]
        assert opened["session"] == SESSION and opened["valid_on"] == EXAM_DATE.isoformat()
        assert opened["occupation"] == "6-31-01-03" and opened["level"] == 3
    assert by_code["JK1"]["payload"]["posts"] == [{"duty": "invigilator", "room": "T01", "task": None}]
    assert by_code["JK1"]["payload"]["credential"] is None  # invigilators carry no card
    assert by_code["KP2"]["payload"]["posts"] == [{"duty": "examiner", "room": "K01", "task": None}]
    assert by_code["KP2"]["payload"]["credential"] == "KP-0002"
    assert by_code["KP2"]["payload"]["roles"] == ["examiner"]
    assert len({b["payload"]["serial"] for b in issued}) == len(issued)
    only = issue_badges(sitting.admin, sitting.session, ("KP2", "JK1"))
    assert [b["staff"] for b in only] == ["JK1", "KP2"]
    assert only[1]["payload"]["serial"] != by_code["KP2"]["payload"]["serial"]  # a reissue is a new badge


def test_people_without_an_open_post_get_no_badge(sitting: Sitting) -> None:
    _on_duty(sitting)
    with pytest.raises(ValidationError) as refused:
        issue_badges(sitting.admin, sitting.session, ("JK1", "JK3", "KP4", "NOBODY"))
    message = str(refused.value)
    assert "JK3, KP4, NOBODY hold(s) no open post in session S2026-01" in message
    assert "JK1" not in message  # JK1 is on duty: only the people at fault are named
    unassign(sitting.admin, sitting.session, "JK2", reason="调往T02以外的考点")
    with pytest.raises(ValidationError, match=r"^JK2 hold\(s\) no open post"):
        issue_badges(sitting.admin, sitting.session, ("JK2",))
    assert [b["staff"] for b in issue_badges(sitting.admin, sitting.session)] == ["JK1", "KP1", "KP2", "KP3"]


# ------------------------------------------------------------------ the offline door check


def test_offline_check_passes_on_the_exam_date_only(sitting: Sitting, badges: dict[str, str]) -> None:
    trusted, crl = _trusted(sitting), revocation_list(sitting.admin)
    assert crl["list"]["format"] == REVOCATIONS_FORMAT and crl["list"]["staff"] == [] and crl["list"]["credentials"] == []
    for code, token in badges.items():
        r = verify_badge(token, trusted, revocations=crl, on=EXAM_DATE)
        assert (r["staff"], r["name"], r["session"], r["valid_on"]) == (code, f"人员{code}", SESSION, EXAM_DATE.isoformat())
        assert r["revocation_checked"] is True and r["revocations_issued_at"] == crl["list"]["issued_at"]
    kp1 = verify_badge(badges["KP1"], trusted, revocations=crl, on=EXAM_DATE)
    assert kp1["credential"] == "KP-0001" and kp1["posts"] == [{"duty": "examiner", "room": "K01", "task": None}]
    unchecked = verify_badge(badges["JK1"], trusted, revocations=None, on=EXAM_DATE)
    assert unchecked["revocation_checked"] is False and "revocations_issued_at" not in unchecked
    for day in (EXAM_DATE - timedelta(days=1), EXAM_DATE + timedelta(days=1), EXAM_DATE.replace(year=EXAM_DATE.year + 1)):
        with pytest.raises(BadgeRefused, match=f"valid on {EXAM_DATE.isoformat()}, not on {day.isoformat()}"):
            verify_badge(badges["JK1"], trusted, revocations=crl, on=day)
    with pytest.raises(BadgeRefused):  # without --on: today (Beijing time), a month before the exam
        verify_badge(badges["JK1"], trusted, revocations=crl)


@pytest.mark.parametrize("tier", ["removal", "credential_revoked"])
def test_a_sanction_refuses_the_badge_with_a_new_list_but_not_with_the_old_one(sitting: Sitting, badges: dict[str, str], tier: str) -> None:
    trusted = _trusted(sitting)
    old = revocation_list(sitting.admin)  # fetched before the sanction
    assert verify_badge(badges["KP1"], trusted, revocations=old, on=EXAM_DATE)["staff"] == "KP1"
    record_sanction(sitting.admin, "KP1", tier, "考评中私下提示考生", session_code=SESSION)
    new = revocation_list(sitting.admin)
    assert new["list"]["staff"] == ["KP1"]
    assert new["list"]["credentials"] == (["KP-0001"] if tier == "credential_revoked" else [])
    with pytest.raises(BadgeRefused, match="KP1 is suspended or revoked"):
        verify_badge(badges["KP1"], trusted, revocations=new, on=EXAM_DATE)
    assert verify_badge(badges["KP2"], trusted, revocations=new, on=EXAM_DATE)["staff"] == "KP2"  # only KP1 is stopped
    # The offline check knows only what the list knew when it was signed: with the old list the badge
    # still opens the door. That is why door checks fetch the list the day before the exam (as late
    # as possible), and why the online check (check_badge) asks the bank itself.
    assert verify_badge(badges["KP1"], trusted, revocations=old, on=EXAM_DATE)["revocation_checked"] is True
    with pytest.raises(BadgeRefused, match="KP1 is (suspended|revoked)"):
        check_badge(sitting.admin, badges["KP1"], on=EXAM_DATE)


def test_a_revoked_card_on_the_list_refuses_the_badge(sitting: Sitting, badges: dict[str, str]) -> None:
    trusted, key = _trusted(sitting), _institution_key(sitting)
    body = copy.deepcopy(revocation_list(sitting.admin)["list"]) | {"credentials": ["KP-0001"]}
    crl = _sign_list(key, body)  # signed by the institution itself: only the card is listed, not the person
    with pytest.raises(BadgeRefused, match="credential KP-0001 of KP1 is revoked"):
        verify_badge(badges["KP1"], trusted, revocations=crl, on=EXAM_DATE)
    assert verify_badge(badges["KP2"], trusted, revocations=crl, on=EXAM_DATE)["revocation_checked"] is True
    assert verify_badge(badges["JK1"], trusted, revocations=crl, on=EXAM_DATE)["credential"] is None


@pytest.mark.parametrize("change", ["remove-staff", "add-staff", "add-card", "issued_at"])
def test_an_altered_revocation_list_fails_its_signature(sitting: Sitting, badges: dict[str, str], change: str) -> None:
    trusted = _trusted(sitting)
    record_sanction(sitting.admin, "JK1", "removal", "迟到且擅离考场", session_code=SESSION)
    crl = revocation_list(sitting.admin)
    assert crl["list"]["staff"] == ["JK1"]
    with pytest.raises(BadgeRefused):  # the list as signed works: JK1 is stopped, JK2 passes
        verify_badge(badges["JK1"], trusted, revocations=crl, on=EXAM_DATE)
    verify_badge(badges["JK2"], trusted, revocations=crl, on=EXAM_DATE)
    altered = copy.deepcopy(crl)
    body = altered["list"]
    if change == "remove-staff":
        body["staff"].remove("JK1")
        token = badges["JK1"]
    elif change == "add-staff":
        body["staff"].append("JK2")
        token = badges["JK2"]
    elif change == "add-card":
        body["credentials"].append("KP-0002")
        token = badges["KP2"]
    else:
        body["issued_at"] = "2099-01-01T00:00:00"
        token = badges["JK2"]
    with pytest.raises(IntegrityError, match="crl.json is not signed by") as refused:
        verify_badge(token, trusted, revocations=altered, on=EXAM_DATE, what="crl.json")
    assert type(refused.value) is IntegrityError  # the list is refused, not the badge
    with pytest.raises(ValidationError, match="not an examvault revocation list"):
        verify_badge(badges["JK2"], trusted, revocations={"list": crl["list"]}, on=EXAM_DATE)


def test_a_revocation_list_of_another_institution_is_refused(sitting: Sitting, badges: dict[str, str]) -> None:
    trusted = _trusted(sitting)
    real = revocation_list(sitting.admin)
    assert verify_badge(badges["JK1"], trusted, revocations=real, on=EXAM_DATE)["revocation_checked"] is True
    for rogue in (SigningKey.generate("另一评价机构"), SigningKey.generate(trusted.name)):  # another name, or the same name
        forged = _sign_list(rogue, copy.deepcopy(real["list"]))  # the very same list, signed by another key
        with pytest.raises(IntegrityError, match="not signed by") as refused:
            verify_badge(badges["JK1"], trusted, revocations=forged, on=EXAM_DATE)
        assert type(refused.value) is IntegrityError
        # and the other institution's list is good for the other institution's verifier key
        fake_badge = sign_token(rogue, BADGE, open_token(trusted, badges["JK1"], BADGE))
        assert verify_badge(fake_badge, rogue.verify_key, revocations=forged, on=EXAM_DATE)["staff"] == "JK1"
        # a badge signed by that institution is refused at our doors too
        with pytest.raises(IntegrityError, match="not signed by"):
            verify_badge(fake_badge, trusted, revocations=real, on=EXAM_DATE)
    # our own signature record relabelled onto a list signed for another purpose is refused
    key = _institution_key(sitting)
    wrong_context = {"list": real["list"], "signature": key.sign("manifest", canonical_json(real["list"]))}
    with pytest.raises(IntegrityError, match="not signed by"):
        verify_badge(badges["JK1"], trusted, revocations=wrong_context, on=EXAM_DATE)


def test_a_tampered_badge_is_refused(sitting: Sitting, badges: dict[str, str]) -> None:
    trusted, crl = _trusted(sitting), revocation_list(sitting.admin)
    prefix, body, sig = badges["JK1"].split(".")
    _, other_body, _ = badges["KP1"].split(".")
    with pytest.raises(IntegrityError, match="not signed by"):  # KP1's content under JK1's signature
        verify_badge(f"{prefix}.{other_body}.{sig}", trusted, revocations=crl, on=EXAM_DATE)
    flipped = ("B" if body[10] == "A" else "A").join((body[:10], body[11:]))
    with pytest.raises((IntegrityError, ValidationError)):
        verify_badge(f"{prefix}.{flipped}.{sig}", trusted, revocations=crl, on=EXAM_DATE)
    with pytest.raises((IntegrityError, ValidationError)):  # a signature cut short is no signature
        verify_badge(badges["JK1"][:-40], trusted, revocations=crl, on=EXAM_DATE)
    with pytest.raises(ValidationError, match="not an examvault token"):  # a scan that lost the signature part
        verify_badge(badges["JK1"].rsplit(".", 1)[0], trusted, revocations=crl, on=EXAM_DATE)
    ticket = sign_token(_institution_key(sitting), "admission-ticket", open_token(trusted, badges["JK1"], BADGE))
    with pytest.raises(IntegrityError, match="not a 'staff-badge'"):
        verify_badge(ticket, trusted, revocations=crl, on=EXAM_DATE)


# ------------------------------------------------------------------ the online door check


def test_online_check_refuses_a_suspended_person(sitting: Sitting, badges: dict[str, str]) -> None:
    r = check_badge(sitting.admin, badges["JK1"], on=EXAM_DATE)
    assert r["staff"] == "JK1" and r["online"] is True and r["revocation_checked"] is True
    set_status(sitting.admin, "JK1", "suspended", "身份核查未通过")
    with pytest.raises(BadgeRefused, match="JK1 is suspended: 身份核查未通过"):
        check_badge(sitting.admin, badges["JK1"], on=EXAM_DATE)
    assert check_badge(sitting.admin, badges["JK2"], on=EXAM_DATE)["staff"] == "JK2"
    with pytest.raises(BadgeRefused, match="not on"):
        check_badge(sitting.admin, badges["JK2"], on=EXAM_DATE + timedelta(days=1))


def test_online_check_refuses_a_person_whose_post_was_ended(sitting: Sitting, badges: dict[str, str]) -> None:
    assert check_badge(sitting.admin, badges["KP3"], on=EXAM_DATE)["staff"] == "KP3"
    unassign(sitting.admin, sitting.session, "KP3", reason="与考生存在亲属关系，回避")
    with pytest.raises(BadgeRefused, match="KP3 no longer holds the post examiner@K01 in session S2026-01"):
        check_badge(sitting.admin, badges["KP3"], on=EXAM_DATE)  # still active, card valid: only the post is gone
    assert check_badge(sitting.admin, badges["KP2"], on=EXAM_DATE)["staff"] == "KP2"


def test_online_check_refuses_a_revoked_card(sitting: Sitting, badges: dict[str, str]) -> None:
    record_sanction(sitting.admin, "KP2", "credential_revoked", "泄露评分标准")
    with pytest.raises(BadgeRefused, match="KP2 is revoked"):
        check_badge(sitting.admin, badges["KP2"], on=EXAM_DATE)
    assert check_badge(sitting.admin, badges["KP1"], on=EXAM_DATE)["credential"] == "KP-0001"


def _move_jk1_to_t02(s: Sitting) -> None:
    """JK1 leaves T01 (where the badge says they serve) for T02; JK2 stays in T01 and JK3 joins them."""
    s.add("JK5", "监考")
    assign(s.admin, s.session, "invigilator", ["JK5"], room="T01")  # T01 keeps two invigilators
    unassign(s.admin, s.session, "JK1", reason="调往T02")
    assign(s.admin, s.session, "invigilator", ["JK1", "JK3"], room="T02")


def test_a_moved_invigilators_old_badge_is_refused_offline_and_online(sitting: Sitting, badges: dict[str, str]) -> None:
    s = sitting
    trusted = _trusted(s)
    old_list = revocation_list(s.admin)
    _move_jk1_to_t02(s)
    crl = revocation_list(s.admin)  # fetched after the move
    assert crl["list"]["posts_ended"] == [["JK1", SESSION, "invigilator@T01"]]
    assert crl["list"]["staff"] == []  # JK1 is still active: only the post is gone
    with pytest.raises(BadgeRefused, match="JK1 no longer holds the post invigilator@T01 in session S2026-01"):
        verify_badge(badges["JK1"], trusted, revocations=crl, on=EXAM_DATE)
    with pytest.raises(BadgeRefused, match="JK1 no longer holds the post invigilator@T01 in session S2026-01"):
        check_badge(s.admin, badges["JK1"], on=EXAM_DATE)
    # the list fetched before the move knew nothing of it
    assert verify_badge(badges["JK1"], trusted, revocations=old_list, on=EXAM_DATE)["staff"] == "JK1"
    # the others still pass, and a badge printed after the move opens T02's door
    assert verify_badge(badges["JK2"], trusted, revocations=crl, on=EXAM_DATE)["staff"] == "JK2"
    (new,) = issue_badges(s.admin, s.session, ("JK1",))
    assert new["payload"]["posts"] == [{"duty": "invigilator", "room": "T02", "task": None}]
    assert verify_badge(new["token"], trusted, revocations=crl, on=EXAM_DATE, room="T02")["staff"] == "JK1"
    assert check_badge(s.admin, new["token"], on=EXAM_DATE, room="T02")["staff"] == "JK1"
    with pytest.raises(BadgeRefused, match=r"JK1 holds no post in room T01 \(the badge says: T02\)"):
        check_badge(s.admin, new["token"], on=EXAM_DATE, room="T01")


def test_a_post_held_again_is_not_on_the_list(sitting: Sitting, badges: dict[str, str]) -> None:
    s = sitting
    unassign(s.admin, s.session, "KP3", reason="临时请假")
    assert revocation_list(s.admin)["list"]["posts_ended"] == [["KP3", SESSION, "examiner@K01"]]
    assign(s.admin, s.session, "examiner", ["KP3"], room="K01")  # back on the same panel
    crl = revocation_list(s.admin)
    assert crl["list"]["posts_ended"] == []
    assert verify_badge(badges["KP3"], _trusted(s), revocations=crl, on=EXAM_DATE)["staff"] == "KP3"
    assert check_badge(s.admin, badges["KP3"], on=EXAM_DATE)["staff"] == "KP3"
    # a marking task is named by its task
    assign(s.admin, s.session, "marker", ["KP4"], task="简答题 41-45")
    unassign(s.admin, s.session, "KP4", reason="阅卷任务调整")
    assert revocation_list(s.admin)["list"]["posts_ended"] == [["KP4", SESSION, "marker@简答题 41-45"]]


def test_the_door_checks_session_room_and_the_age_of_the_list(sitting: Sitting, badges: dict[str, str]) -> None:
    s = sitting
    trusted, crl = _trusted(s), revocation_list(s.admin)
    kw: dict[str, Any] = {"revocations": crl, "on": EXAM_DATE}
    assert verify_badge(badges["JK1"], trusted, session=SESSION, room="T01", **kw)["staff"] == "JK1"
    assert verify_badge(badges["KP1"], trusted, session=SESSION, room="K01", max_list_age=timedelta(hours=72), **kw)["staff"] == "KP1"
    with pytest.raises(BadgeRefused, match="badge of JK1 is for session S2026-01, not S2026-02"):
        verify_badge(badges["JK1"], trusted, session="S2026-02", **kw)
    with pytest.raises(BadgeRefused, match=r"JK1 holds no post in room K01 \(the badge says: T01\)"):
        verify_badge(badges["JK1"], trusted, room="K01", **kw)
    with pytest.raises(BadgeRefused, match="not S2026-02"):  # the same checks online
        check_badge(s.admin, badges["JK1"], on=EXAM_DATE, session_code="S2026-02")
    with pytest.raises(BadgeRefused, match="holds no post in room K01"):
        check_badge(s.admin, badges["JK1"], on=EXAM_DATE, room="K01")
    assert check_badge(s.admin, badges["JK1"], on=EXAM_DATE, session_code=SESSION, room="T01")["staff"] == "JK1"

    # a list signed four days ago is too old for a door that wants one of 72 hours at most
    body = copy.deepcopy(crl["list"])
    body["issued_at"] = (datetime.now(UTC) - timedelta(days=4)).isoformat(timespec="seconds")
    stale = _sign_list(_institution_key(s), body)
    with pytest.raises(BadgeRefused, match="was issued at .*, more than 3 days, 0:00:00 ago: fetch a fresh one"):
        verify_badge(badges["JK1"], trusted, revocations=stale, on=EXAM_DATE, max_list_age=timedelta(hours=72))
    assert verify_badge(badges["JK1"], trusted, revocations=stale, on=EXAM_DATE, max_list_age=timedelta(days=5))["revocation_checked"]
    assert verify_badge(badges["JK1"], trusted, revocations=stale, on=EXAM_DATE)["revocation_checked"]  # no limit asked for
    body["issued_at"] = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")  # a time of no zone is no age
    with pytest.raises(ValidationError, match="its issued_at has no time zone"):
        verify_badge(badges["JK1"], trusted, revocations=_sign_list(_institution_key(s), body), on=EXAM_DATE, max_list_age=timedelta(days=5))


def test_issue_badges_writes_the_sheet_before_recording_the_issue(sitting: Sitting, tmp_path: Path) -> None:
    s = sitting
    _on_duty(s)
    out = tmp_path / "badges.pdf"
    issued = issue_badges(s.admin, s.session, out_path=out)
    assert len(PdfReader(out).pages) == 1 and [b["staff"] for b in issued] == ON_DUTY
    assert _issue_events(s) == [ON_DUTY]
    with pytest.raises(ValidationError, match="cannot write the badges"):
        issue_badges(s.admin, s.session, out_path=tmp_path / "no-such-dir" / "badges.pdf")
    assert _issue_events(s) == [ON_DUTY]  # nothing recorded for a sheet never written


def _issue_events(s: Sitting) -> list[list[str]]:
    with s.admin.transaction() as db:
        return [e.details["staff"] for e in db.scalars(select(AuditEvent).where(AuditEvent.action == "staff.badge.issue").order_by(AuditEvent.id))]


# ------------------------------------------------------------------ the printed sheet


def _qr_texts(pdf: Path, out_dir: Path) -> list[list[str]]:
    """Each page rendered at 200 dpi by poppler, its QR codes decoded by zxing-cpp."""
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(out_dir / "page")], check=True, timeout=120)
    pages = sorted(out_dir.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    out = []
    for png in pages:
        with Image.open(png) as image:
            # QR codes only: now and then (about 1 run in 30) zxing also reports a spurious EAN-13
            # somewhere on the sheet, which prints nothing but QR codes
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert all(f.format == zxingcpp.BarcodeFormat.QRCode for f in found)
        out.append([f.text for f in found])
    return out


def test_render_badges_prints_scannable_qr_codes(sitting: Sitting, tmp_path: Path) -> None:
    _everyone_on_duty(sitting)
    issued = issue_badges(sitting.admin, sitting.session)
    assert len(issued) == 10
    pdf = tmp_path / "badges.pdf"
    assert {b["institution"] for b in issued} == {"测试技师学院"}  # the name given at `examvault init`
    pdf.write_bytes(render_badges(issued))
    reader = PdfReader(pdf)
    assert len(reader.pages) == math.ceil(10 / 8) == 2
    assert reader.metadata is not None and reader.metadata.title == "测试技师学院 考务工作证"
    first_text = reader.pages[0].extract_text()
    assert first_text.count("测试技师学院 考务工作证") == 8
    assert all(f"人员{b['staff']}" in first_text for b in issued[:8])
    assert f"有效日期：{EXAM_DATE.isoformat()}" in first_text
    (tmp_path / "png").mkdir()
    pages = _qr_texts(pdf, tmp_path / "png")
    assert len(pages) == 2
    tokens = [b["token"] for b in issued]
    assert len(pages[0]) == 8 and sorted(pages[0]) == sorted(tokens[:8])  # page 1: the first eight cards
    assert sorted(pages[1]) == sorted(tokens[8:])
    trusted, crl = _trusted(sitting), revocation_list(sitting.admin)
    by_token = {b["token"]: b["staff"] for b in issued}
    for text in pages[0] + pages[1]:
        assert verify_badge(text, trusted, revocations=crl, on=EXAM_DATE)["staff"] == by_token[text]


def test_render_badges_fills_a_page_with_eight_cards(sitting: Sitting) -> None:
    _everyone_on_duty(sitting)
    issued = issue_badges(sitting.admin, sitting.session)
    for n in (8, 9):
        reader = PdfReader(io.BytesIO(render_badges(issued[:n], SESSION)))
        assert len(reader.pages) == math.ceil(n / 8), n
        assert reader.metadata is not None and reader.metadata.title == f"{SESSION} 考务工作证"


# ------------------------------------------------------------------ the CLI, as a door keeper runs it


def _run(args: list[str], env: dict[str, str], cwd: Path, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([sys.executable, "-m", "examvault", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    if ok:
        assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout
    return p


def _one_line_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    return lines[0]


@cli_walkthrough
def test_cli_badge_revocations_and_offline_verify(sitting: Sitting, db_url: str, tmp_path: Path) -> None:
    _on_duty(sitting)
    work = tmp_path / "cli"
    work.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXAMVAULT_")}
    env = clean | {"EXAMVAULT_PASSPHRASE": PASSPHRASE}
    bank = ["--db", db_url, "--user", "kaowu"]
    _run([*bank, "staff", "badge", SESSION, "--out", "badges.pdf", "--tokens", "tokens.json"], env, work)
    _run([*bank, "staff", "revocations", "--out", "crl.json"], env, work)
    _run([*bank, "institution", "key", "--out", "institution.vkey"], env, work)
    assert len(PdfReader(work / "badges.pdf").pages) == 1
    tokens = {t["staff"]: t["token"] for t in json.loads((work / "tokens.json").read_text("utf-8"))}
    assert sorted(tokens) == ON_DUTY
    assert VerifyKey.load(work / "institution.vkey") == _trusted(sitting)

    # the door: no bank, no passphrase — only the two files fetched the day before
    verify = ["staff", "verify-badge", "--trust", "institution.vkey", "--revocations", "crl.json", "--on", EXAM_DATE.isoformat()]
    r = json.loads(_run([*verify, tokens["KP2"], "--json"], clean, work).stdout)
    assert r["staff"] == "KP2" and r["name"] == "人员KP2" and r["credential"] == "KP-0002"
    assert r["revocation_checked"] is True and r["valid_on"] == EXAM_DATE.isoformat()
    (work / "jk1.txt").write_text(tokens["JK1"] + "\n", "utf-8")
    assert json.loads(_run([*verify, "@jk1.txt", "--json"], clean, work).stdout)["staff"] == "JK1"

    prefix, body, sig = tokens["KP2"].split(".")
    _, jk1_body, _ = tokens["JK1"].split(".")
    tampered = _run([*verify, f"{prefix}.{jk1_body}.{sig}", "--json"], clean, work, ok=False)
    assert tampered.returncode == 8 and tampered.stdout == ""
    assert "is not signed by" in _one_line_error(tampered)
    garbled = _run([*verify, tokens["KP2"][:-30], "--json"], clean, work, ok=False)
    assert "token" in _one_line_error(garbled) and garbled.stdout == ""
    other_day = _run([*verify[:-1], (EXAM_DATE + timedelta(days=1)).isoformat(), tokens["KP2"]], clean, work, ok=False)
    assert f"valid on {EXAM_DATE.isoformat()}" in _one_line_error(other_day)

    record_sanction(sitting.admin, "KP2", "removal", "评分严重失准")
    _run([*bank, "staff", "revocations", "--out", "crl.json"], env, work)
    revoked = _run([*verify, tokens["KP2"], "--json"], clean, work, ok=False)
    assert revoked.returncode == 8 and "KP2 is suspended or revoked" in _one_line_error(revoked)

    # the door's own session and room
    here = _run([*verify, "--session", SESSION, "--room", "K01", tokens["KP1"], "--json"], clean, work)
    assert json.loads(here.stdout)["staff"] == "KP1"
    wrong_room = _run([*verify, "--room", "T01", tokens["KP1"]], clean, work, ok=False)
    assert wrong_room.returncode == 8 and "KP1 holds no post in room T01" in _one_line_error(wrong_room)
    wrong_session = _run([*verify, "--session", "S2026-09", tokens["KP1"]], clean, work, ok=False)
    assert wrong_session.returncode == 8 and "is for session S2026-01, not S2026-09" in _one_line_error(wrong_session)
    # a list older than --max-list-age hours (72 unless said) is refused
    body = copy.deepcopy(json.loads((work / "crl.json").read_text("utf-8"))["list"])
    body["issued_at"] = (datetime.now(UTC) - timedelta(days=4)).isoformat(timespec="seconds")
    (work / "old.json").write_text(json.dumps(_sign_list(_institution_key(sitting), body)), "utf-8")
    old = ["staff", "verify-badge", "--trust", "institution.vkey", "--revocations", "old.json", "--on", EXAM_DATE.isoformat()]
    stale = _run([*old, tokens["KP1"]], clean, work, ok=False)
    assert stale.returncode == 8 and "fetch a fresh one" in _one_line_error(stale)
    assert json.loads(_run([*old, "--max-list-age", "120", tokens["KP1"], "--json"], clean, work).stdout)["revocation_checked"] is True
    assert "fetch a fresh one" in _one_line_error(_run([*verify, "--max-list-age", "0.0001", tokens["KP1"]], clean, work, ok=False))
    unreadable = _run([*verify, "@no-such-token.txt"], clean, work, ok=False)
    assert "no-such-token.txt: cannot read the token" in _one_line_error(unreadable)

"""Staff badges (工作证) with a signed QR token, the signed revocation list, and the door check.

A badge is valid on its session's exam date only, for the posts it names. The door
check runs offline with two files fetched the day before: the institution's verifier
key and the signed revocation list; a card revoked or a person suspended before the
list was issued fails. The online check asks the bank itself.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto.signing import VerifyKey, canonical_json
from examvault.crypto.tokens import open_token, sign_token
from examvault.custody.service import institution_signing_key, institution_title
from examvault.db import utcnow
from examvault.errors import IntegrityError, ValidationError
from examvault.registration.models import ExamSession, Room
from examvault.registration.service import get_session
from examvault.staff.models import Assignment, Credential, StaffMember
from examvault.staff.service import DUTY_NAMES, get_staff, on_duty

BADGE = "staff-badge"
REVOCATIONS_FORMAT = "examvault.revocations/v1"
BEIJING = ZoneInfo("Asia/Shanghai")


class BadgeRefused(IntegrityError):
    """The badge must not open the door: forged, for another day, or revoked."""


def issue_badges(bank: Bank, session_code: str, staff_codes: tuple[str, ...] = (), *, out_path: Path | None = None) -> list[dict[str, Any]]:
    """One token per person on duty in the session (or the named ones), signed by the institution;
    with `out_path`, the printed sheet is written before the issue is recorded."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.badge")
        keyring = bank.keyring(session)
        exam = get_session(session, session_code)
        key = institution_signing_key(session, keyring)
        institution = institution_title(session)
        posts: dict[str, list[dict[str, Any]]] = {}
        for p in on_duty(session, exam, keyring):
            if p["ended_at"] is None and (not staff_codes or p["staff"] in staff_codes):
                posts.setdefault(p["staff"], []).append(p)
        missing = [c for c in staff_codes if c not in posts]
        if missing:
            raise ValidationError(f"{', '.join(missing)} hold(s) no open post in session {session_code}; badges are for people on duty")
        if not posts:
            raise ValidationError(f"nobody holds an open post in session {session_code}; assign staff first")
        badges = []
        for code, mine in sorted(posts.items()):
            person = get_staff(session, code)
            payload = {
                "serial": str(uuid.uuid4()), "staff": code, "name": mine[0]["name"], "roles": sorted(person.role_set),
                "session": exam.code, "occupation": exam.occupation, "level": exam.level,
                "valid_on": exam.exam_date.isoformat(),
                "posts": [{"duty": p["duty"], "room": p["room"], "task": p["task"]} for p in mine],
                "credential": next((p["credential_number"] for p in mine if p["credential_number"]), None),
                "issued_at": utcnow().isoformat(timespec="seconds"),
            }  # fmt: skip
            badges.append({"staff": code, "name": payload["name"], "token": sign_token(key, BADGE, payload), "payload": payload,
                        "institution": institution})  # fmt: skip
        if out_path is not None:
            try:
                out_path.write_bytes(render_badges(badges))
            except OSError as exc:
                raise ValidationError(f"{out_path}: cannot write the badges ({exc.strerror})") from None
        audit(session, actor, "staff.badge.issue", "exam_session", session_code, staff=[b["staff"] for b in badges])
        return badges


def revocation_list(bank: Bank) -> dict[str, Any]:
    """Who must not pass any door: people not active, and every revoked card. Signed by the institution."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "staff.read")
        key = institution_signing_key(session, bank.keyring(session))
        body = {
            "format": REVOCATIONS_FORMAT,
            "issued_at": utcnow().isoformat(timespec="seconds"),
            "staff": sorted(session.scalars(select(StaffMember.code).where(StaffMember.status != "active"))),
            "credentials": sorted(session.scalars(select(Credential.number).where(Credential.revoked_at.is_not(None)))),
            "posts_ended": _posts_ended(session),
        }
        audit(session, actor, "staff.revocations", "staff", "", staff=len(body["staff"]), credentials=len(body["credentials"]))
        return {"list": body, "signature": key.sign("revocations", canonical_json(body))}


def _place(duty: str, room: str | None, task: str | None) -> str:
    return f"{duty}@{room or task or ''}"


def _posts_ended(session: Session) -> list[list[str]]:
    """[staff, session, duty@place] for posts ended in a running session and not held again: a badge
    printed with such a post must fail, although the person is still active (moved, stood down)."""
    rows = session.execute(
        select(StaffMember.code, ExamSession.code, Assignment.duty, Room.code, Assignment.task, Assignment.ended_at.is_(None))
        .join(Assignment, Assignment.staff_id == StaffMember.id)
        .join(ExamSession, ExamSession.id == Assignment.session_id)
        .outerjoin(Room, Room.id == Assignment.room_id)
        .where(ExamSession.stage != "closed")
    ).all()
    held = {(staff, exam, _place(duty, room, task)) for staff, exam, duty, room, task, is_open in rows if is_open}
    ended = {(staff, exam, _place(duty, room, task)) for staff, exam, duty, room, task, _ in rows} - held
    return sorted([staff, exam, place] for staff, exam, place in ended)


def _checked_revocations(doc: Mapping[str, Any], trusted: VerifyKey, what: str) -> Mapping[str, Any]:
    body = doc.get("list") if isinstance(doc, Mapping) else None
    sig = doc.get("signature") if isinstance(doc, Mapping) else None
    if not isinstance(body, Mapping) or not isinstance(sig, Mapping) or body.get("format") != REVOCATIONS_FORMAT:
        raise ValidationError(f"{what} is not an examvault revocation list ({REVOCATIONS_FORMAT})")
    if not trusted.verify("revocations", canonical_json(body), sig):
        raise IntegrityError(f"{what} is not signed by {trusted.name}: altered, or from another institution")
    return body


def verify_badge(token: str, trusted: VerifyKey, *, revocations: Mapping[str, Any] | None, on: date | None = None,
                 what: str = "revocation list", session: str | None = None, room: str | None = None,
                 max_list_age: timedelta | None = None) -> dict[str, Any]:  # fmt: skip
    """The offline door check. Refuses a forged or altered token, a badge for another day, another
    session or another room than this door's (when given), and a person, card or post on the
    revocation list — a list older than `max_list_age` is refused too. Without a list the result
    says revocation was not checked."""
    payload = open_token(trusted, token, BADGE)
    today = on or datetime.now(BEIJING).date()
    if payload.get("valid_on") != today.isoformat():
        raise BadgeRefused(f"badge of {payload.get('staff')} is valid on {payload.get('valid_on')}, not on {today.isoformat()}")
    if session is not None and payload.get("session") != session:
        raise BadgeRefused(f"badge of {payload.get('staff')} is for session {payload.get('session')}, not {session}")
    if room is not None and room not in {p.get("room") for p in payload["posts"]}:
        raise BadgeRefused(f"{payload.get('staff')} holds no post in room {room} (the badge says: "
                           f"{', '.join(p.get('room') or p['duty'] for p in payload['posts'])})")  # fmt: skip
    result = {"staff": payload["staff"], "name": payload["name"], "session": payload["session"], "posts": payload["posts"],
              "credential": payload.get("credential"), "valid_on": payload["valid_on"], "revocation_checked": False}  # fmt: skip
    if revocations is not None:
        body = _checked_revocations(revocations, trusted, what)
        try:
            issued = datetime.fromisoformat(str(body["issued_at"]))
        except ValueError:
            raise ValidationError(f"{what}: its issued_at is not a time") from None
        if issued.tzinfo is None:
            raise ValidationError(f"{what}: its issued_at has no time zone")
        if max_list_age is not None and utcnow() - issued > max_list_age:
            raise BadgeRefused(f"{what} was issued at {body['issued_at']}, more than {max_list_age} ago: fetch a fresh one")
        if payload["staff"] in body["staff"]:
            raise BadgeRefused(f"{payload['staff']} is suspended or revoked (revocation list of {body['issued_at']})")
        if payload.get("credential") and payload["credential"] in body["credentials"]:
            raise BadgeRefused(f"credential {payload['credential']} of {payload['staff']} is revoked (撤回证卡; list of {body['issued_at']})")
        ended = {p[2] for p in body.get("posts_ended", []) if p[:2] == [payload["staff"], payload["session"]]}
        gone = [q for q in payload["posts"] if _place(q["duty"], q["room"], q["task"]) in ended]
        if gone:
            raise BadgeRefused(f"{payload['staff']} no longer holds the post {_place(gone[0]['duty'], gone[0]['room'], gone[0]['task'])} "
                               f"in session {payload['session']} (list of {body['issued_at']})")  # fmt: skip
        result |= {"revocation_checked": True, "revocations_issued_at": body["issued_at"]}
    return result


def check_badge(bank: Bank, token: str, *, on: date | None = None, session_code: str | None = None, room: str | None = None) -> dict[str, Any]:
    """The online door check: the offline checks, then the bank's current record of the person."""
    from examvault.custody.service import institution_verify_key

    with bank.transaction() as session:
        actor = bank.actor(session, "staff.read")
        payload = verify_badge(token, institution_verify_key(session), revocations=None, on=on, session=session_code, room=room)
        person = get_staff(session, payload["staff"])
        if person.status != "active":
            raise BadgeRefused(f"{person.code} is {person.status}: {person.status_reason}")
        card = payload.get("credential")
        if card and any(c.number == card and c.revoked_at for c in person.credentials):
            raise BadgeRefused(f"credential {card} of {person.code} is revoked (撤回证卡)")
        exam = get_session(session, payload["session"])
        held = {_place(duty, where, task) for duty, where, task in session.execute(  # this person's posts: nobody is opened
            select(Assignment.duty, Room.code, Assignment.task).outerjoin(Room, Room.id == Assignment.room_id).where(
                Assignment.session_id == exam.id, Assignment.staff_id == person.id, Assignment.ended_at.is_(None)))}  # fmt: skip
        gone = [_place(q["duty"], q["room"], q["task"]) for q in payload["posts"] if _place(q["duty"], q["room"], q["task"]) not in held]
        if gone:
            raise BadgeRefused(f"{person.code} no longer holds the post {gone[0]} in session {exam.code}")
        audit(session, actor, "staff.badge.check", "staff", person.code, exam_session=exam.code)
        return payload | {"revocation_checked": True, "online": True}


def render_badges(badges: list[dict[str, Any]], title: str | None = None) -> bytes:
    """A4 sheet of 85.6 × 54 mm cards (the ID-1 size that badge holders take), two columns."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as rl_canvas

    from examvault.export.fonts import register_fonts

    title = title or (badges[0]["institution"] if badges else "")
    lines = [_badge_lines(b["payload"]) for b in badges]
    text = "".join("".join(ls) for ls in lines) + "0123456789-:：" + title + "考务工作证"
    fonts = register_fonts(text, text)  # names print in the heading face
    out = io.BytesIO()
    c = rl_canvas.Canvas(out, pagesize=A4, invariant=True)
    c.setTitle(f"{title} 考务工作证")
    w, h, gap = 85.6 * mm, 54 * mm, 6 * mm
    x0, y0 = (A4[0] - 2 * w - gap) / 2, A4[1] - 15 * mm - h
    per_page = 2 * 4
    for n, (badge, text) in enumerate(zip(badges, lines, strict=True)):
        if n and n % per_page == 0:
            c.showPage()
        slot = n % per_page
        x, y = x0 + (slot % 2) * (w + gap), y0 - (slot // 2) * (h + gap)
        c.setLineWidth(0.6)
        c.roundRect(x, y, w, h, 3 * mm)
        c.setFont(fonts.heading, 10)
        c.drawCentredString(x + w / 2, y + h - 7 * mm, f"{title} 考务工作证")
        c.setFont(fonts.heading, 14)
        c.drawString(x + 5 * mm, y + h - 16 * mm, text[0])
        c.setFont(fonts.body, 7.5)
        for k, line in enumerate(text[1:]):
            c.drawString(x + 5 * mm, y + h - 22 * mm - k * 4.2 * mm, line)
        qr = QrCodeWidget(badge["token"], barLevel="M")
        x1, y1, x2, y2 = qr.getBounds()
        size = 40 * mm
        d = Drawing(size, size, transform=[size / (x2 - x1), 0, 0, size / (y2 - y1), 0, 0])
        d.add(qr)
        renderPDF.draw(d, c, x + w - size - 2 * mm, y + (h - size) / 2 - 3 * mm)
    c.showPage()
    c.save()
    return out.getvalue()


def _badge_lines(p: Mapping[str, Any]) -> list[str]:
    posts = "；".join(DUTY_NAMES.get(q["duty"], q["duty"]) + (f" {q['room']}" if q["room"] else "") + (f" {q['task']}" if q["task"] else "")
                     for q in p["posts"])  # fmt: skip
    return [p["name"], f"编号：{p['staff']}", f"岗位：{posts}", f"证卡：{p.get('credential') or '—'}",
            f"批次：{p['session']}", f"有效日期：{p['valid_on']}"]  # fmt: skip

"""Certificates: the 22-character number, blank-form stock, the ledger's transitions, the signed QR
token, the sealed holder, the PDF's data, the CLI, and (PostgreSQL) concurrent numbering.

Results do not exist yet (scoring is the next issue), so the ledger is exercised through the
session-level `issue_certificate`; `issue_certificates` is shown refusing without released results.
"""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from examvault.bank import Bank
from examvault.cli import cli, main
from examvault.crypto.records import seal_fields
from examvault.crypto.signing import SigningKey, VerifyKey, canonical_json
from examvault.crypto.tokens import open_token, sign_token
from examvault.custody.service import institution_key, institution_signing_key
from examvault.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from examvault.registration import certificates as certs
from examvault.registration.certificate_cli import certificate_group
from examvault.registration.certificates import (
    CertificateRefused,
    certificate_pdf,
    certificate_qr,
    check_certificate,
    form_stock,
    issue_certificate,
    issue_certificates,
    ledger,
    list_certificates,
    receive_forms,
    reissue_certificate,
    revoke_certificate,
    spoil_form,
    verify_certificate,
    void_certificate,
)
from examvault.registration.certnumber import (
    PROVINCES,
    format_number,
    next_status,
    number_prefix,
    number_problem,
    parse_number,
)
from examvault.registration.models import (
    CANDIDATE_PERSONAL,
    Candidate,
    Certificate,
    CertificateEvent,
    ExamPlan,
)
from examvault.registration.service import add_candidates, add_room, create_session, get_session
from tests.conftest import OCC, PASSPHRASE, PG_URL, snapshot
from tests.custody.test_service import _together
from tests.staff.conftest import id_number
from tests.test_plaintext_scan import scan_bank

TODAY = certs._today()
EXAM_DAY = TODAY - timedelta(days=20)
SESSION = "C-01"
SITE = "360101"
EVALUATION = {"kind": "S", "institution_code": "0001", "province": "36"}
PREFIX = f"S000136{SITE}{TODAY.year % 100:02d}3"  # kind, institution, province, site, year, level


@dataclass
class Env:
    kaowu: Bank
    adm: Bank
    sup: Bank
    codes: list[str]  # candidate codes, in order
    ids: dict[str, str] = field(default_factory=dict)  # candidate code → ID number
    unused: Iterator[str] = iter(())

    def issue(self, code: str, *, form: str | None = None, on: Any = None, bank: Bank | None = None) -> str:
        bank = bank or self.kaowu
        with bank.transaction(write=True) as s:
            actor = bank.actor(s, "certificate.issue")
            exam = get_session(s, SESSION)
            cand = s.scalars(select(Candidate).where(Candidate.code == code)).one()
            return issue_certificate(
                s, actor, bank.keyring(s), exam, cand, on=on or TODAY, form_serial=form
            ).number


def _accept_and_number(bank: Bank, session_code: str, *, plan: bool = True) -> None:
    """What registration review and the annual plan will do: accept the candidates, give the session
    its plan (with the evaluation codes) and its site code."""
    with bank.transaction(write=True) as s:
        if plan and s.get(ExamPlan, EXAM_DAY.year) is None:
            s.add(
                ExamPlan(
                    year=EXAM_DAY.year,
                    body={"evaluation": dict(EVALUATION)},
                    digest="0" * 64,
                    created_by="kaowu",
                )
            )
            s.flush()
        exam = get_session(s, session_code)
        exam.plan_year, exam.site_code = EXAM_DAY.year, SITE
        for c in s.scalars(select(Candidate).where(Candidate.session_id == exam.id)):
            c.status = "accepted"


@pytest.fixture
def env(make_bank: Callable[..., Bank]) -> Env:
    kaowu = make_bank("kaowu")
    create_session(kaowu, SESSION, occupation=OCC, level=3, exam_date=EXAM_DAY, site="测试考点")
    add_room(kaowu, SESSION, "T01", kind="theory", capacity=80)
    rows = [{"name": f"证书考生{n}", "id_number": id_number(n)} for n in range(1, 61)]
    placed = add_candidates(kaowu, SESSION, rows, room="T01")
    _accept_and_number(kaowu, SESSION)
    codes = [p["code"] for p in placed]
    e = Env(
        kaowu,
        make_bank("adm"),
        make_bank("sup"),
        codes,
        {p["code"]: r["id_number"] for p, r in zip(placed, rows, strict=True)},
    )
    e.unused = iter(codes)
    return e


def _status(bank: Bank, number: str) -> str:
    with bank.transaction() as s:
        return s.scalars(select(Certificate.status).where(Certificate.number == number)).one()


def _actions(bank: Bank, number: str) -> list[str]:
    return [e["action"] for e in ledger(bank, number=number) if e["number"] == number]


# ---------------------------------------------------------------- 1. the number


VALID = [
    ("S000136360101263000001", {"kind": "S", "institution": "0001", "province": "36", "site": "360101", "year": 26, "level": 3, "serial": 1}),
    ("Y999911000000001999999", {"kind": "Y", "institution": "9999", "province": "11", "site": "000000", "year": 0, "level": 1, "serial": 999999}),
    ("S123482999999995000042", {"kind": "S", "institution": "1234", "province": "82", "site": "999999", "year": 99, "level": 5, "serial": 42}),
    (" S000165123456302000010\n", {"kind": "S", "institution": "0001", "province": "65", "site": "123456", "year": 30, "level": 2, "serial": 10}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fields"), VALID)
def test_valid_numbers_parse_to_their_fields(text: str, fields: dict[str, Any]) -> None:
    p = parse_number(text)
    assert {k: p[k] for k in fields} == fields
    assert p["number"] == text.strip() and p["prefix"] == text.strip()[:16]
    assert number_problem(text) is None
    assert (
        format_number(
            *(fields[k] for k in ("kind", "institution", "province", "site", "year", "level", "serial"))
        )
        == text.strip()
    )


INVALID = [
    ("s000136360101263000001", ["character 1 (type letter)", "uppercase"]),
    ("X000136360101263000001", ["character 1 (type letter)", "not Y"]),
    ("S00A136360101263000001", ["character 4 (evaluation-institution code)", "not a digit"]),
    ("S000199360101263000001", ["characters 6–7 (province code)", "GB/T 2260"]),
    ("S000100360101263000001", ["characters 6–7 (province code)"]),
    ("S00013636O101263000001", ["character 10 (site code)", "not a digit"]),
    ("S0001363601０1263000001", ["character 12 (site code)", "full-width"]),
    ("S00013636010126０000001", ["character 16 (level)", "full-width"]),
    ("S000136360101260000001", ["character 16 (level)", "not a level"]),
    ("S000136360101266000001", ["character 16 (level)", "not a level"]),
    ("S000136360101269000001", ["character 16 (level)", "not a level"]),
    ("S000136360101263000000", ["characters 17–22 (serial)", "start at 000001"]),
    ("S00013636010126300000", ["22 characters", "has 21"]),
    ("S0001363601012630000001", ["22 characters", "has 23"]),
    ("", ["has 0"]),
    ("S0001363601012630证0001", ["character 18 (serial)", "not a digit"]),
    ("SS00136360101263000001", ["character 2 (evaluation-institution code)"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expect"), INVALID)
def test_invalid_numbers_name_the_position_and_the_reason(text: str, expect: list[str]) -> None:
    problem = number_problem(text)
    assert problem is not None
    for fragment in expect:
        assert fragment in problem, problem
    with pytest.raises(ValidationError) as exc:
        parse_number(text)
    assert all(fragment in str(exc.value) for fragment in expect)


def test_two_bad_fields_are_both_reported() -> None:
    problem = number_problem("x000199360101260000000")
    assert problem is not None
    for where in ("character 1 ", "characters 6–7 ", "character 16 ", "characters 17–22 "):
        assert where in problem, problem


@pytest.mark.parametrize(
    ("args", "error", "fragment"),
    [
        (("s", "0001", "36", SITE, 2026, 3, 1), ValidationError, "uppercase"),
        (("S", "001", "36", SITE, 2026, 3, 1), ValidationError, "4 digits"),
        (("S", "0001", "99", SITE, 2026, 3, 1), ValidationError, "GB/T 2260"),
        (("S", "0001", "36", "3601", 2026, 3, 1), ValidationError, "6 digits"),
        (("S", "0001", "36", "36010１", 2026, 3, 1), ValidationError, "ASCII"),
        (("S", "0001", "36", SITE, 2026, 6, 1), ValidationError, "not a level"),
        (("S", "0001", "36", SITE, 2026, 0, 1), ValidationError, "not a level"),
        (("S", "0001", "36", SITE, 2026, 3, 0), ValidationError, "000001"),
        (("S", "0001", "36", SITE, 2026, 3, 1_000_000), ConflictError, "used up"),
        (("S", "0001", "36", SITE, 123, 3, 1), ValidationError, "calendar year"),
    ],
)
def test_format_refuses_bad_fields(args: tuple[Any, ...], error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as exc:
        format_number(*args)
    assert fragment in str(exc.value)


def test_format_takes_the_calendar_year_or_its_last_two_digits() -> None:
    assert format_number("Y", "0001", "36", SITE, 2026, 3, 7) == format_number(
        "Y", "0001", "36", SITE, 26, 3, 7
    )
    assert format_number("Y", "0001", "36", SITE, 2026, 3, 7) == "Y000136360101263000007"
    assert number_prefix("S", "0001", "36", SITE, 2030, 1) == "S000136360101301"


DIGITS = "0123456789"
numbers = st.builds(
    format_number,
    st.sampled_from("YS"),
    st.text(DIGITS, min_size=4, max_size=4),
    st.sampled_from(sorted(PROVINCES)),
    st.text(DIGITS, min_size=6, max_size=6),
    st.one_of(st.integers(0, 99), st.integers(2000, 2099)),
    st.integers(1, 5),
    st.integers(1, 999_999),
)


@given(numbers)
def test_round_trip(text: str) -> None:
    p = parse_number(text)
    assert len(text) == 22
    again = format_number(
        p["kind"], p["institution"], p["province"], p["site"], p["year"], p["level"], p["serial"]
    )
    assert again == text


_ORACLE = re.compile(r"[YS][0-9]{4}([0-9]{2})[0-9]{6}[0-9]{2}[1-5]([0-9]{6})")


def _oracle_valid(text: str) -> bool:
    """The number's rules restated independently of certnumber's code."""
    m = _ORACLE.fullmatch(text)
    return bool(m) and m[1] in PROVINCES and m[2] != "000000"


def _named_positions(problem: str) -> set[int]:
    out: set[int] = set()
    for a, b in re.findall(r"characters? (\d+)(?:–(\d+))?", problem):
        out |= set(range(int(a), int(b or a) + 1))
    return out


# Replacements: ASCII digits and letters, lowercase, full-width and other-script digits, CJK, punctuation.
REPLACEMENTS = st.sampled_from(list(DIGITS + "YSysXOlI０１９٣〇证-_./+*"))


@given(numbers, st.integers(0, 21), REPLACEMENTS)
def test_any_single_character_corruption_is_judged_right_and_located(text: str, pos: int, char: str) -> None:
    bad = text[:pos] + char + text[pos + 1 :]
    problem = number_problem(bad)
    assert (problem is None) == _oracle_valid(bad), (bad, problem)
    if problem is not None:
        assert pos + 1 in _named_positions(problem), (bad, problem)
        with pytest.raises(ValidationError):
            parse_number(bad)


@given(numbers, st.integers(0, 21), st.booleans())
def test_a_dropped_or_doubled_character_is_a_length_error(text: str, pos: int, drop: bool) -> None:
    bad = text[:pos] + text[pos + 1 :] if drop else text[:pos] + text[pos] + text[pos:]
    problem = number_problem(bad)
    assert problem is not None and f"has {len(bad)}" in problem


def test_transitions_table() -> None:
    assert next_status("issued", "void") == "voided"
    assert next_status("issued", "reissue") == "replaced"
    assert next_status("issued", "revoke") == "revoked"
    for status in ("voided", "replaced", "revoked"):
        for action in ("void", "reissue", "revoke"):
            with pytest.raises(ConflictError, match=status):
                next_status(status, action, "N")


# ---------------------------------------------------------------- 2. blank forms


def test_form_stock_accounting(env: Env) -> None:
    k = env.kaowu
    assert receive_forms(k, "2026-A", "JX2026000001", 10) == {
        "batch": "2026-A",
        "first": "JX2026000001",
        "last": "JX2026000010",
        "count": 10,
    }
    receive_forms(k, "2026-B", "JX2026000101", 5)
    spoil_form(k, "JX2026000003", "印刷错位")
    n1 = env.issue(env.codes[0], form="JX2026000001")
    env.issue(env.codes[1], form="JX2026000002")
    void_certificate(k, n1, "姓名印错")
    stock = {r["batch"]: r for r in form_stock(k)}
    assert {k_: stock["2026-A"][k_] for k_ in ("first", "last", "received", "stock", "used", "spoiled")} == {
        "first": "JX2026000001", "last": "JX2026000010", "received": 10, "stock": 7, "used": 1, "spoiled": 2}  # fmt: skip
    assert (
        stock["2026-B"]["received"],
        stock["2026-B"]["stock"],
        stock["2026-B"]["used"],
        stock["2026-B"]["spoiled"],
    ) == (5, 5, 0, 0)
    # the used, spoiled and unknown forms cannot be used or spoiled again
    with pytest.raises(ConflictError, match="JX2026000002 is used"):
        spoil_form(k, "JX2026000002", "x")
    with pytest.raises(ConflictError, match="JX2026000003 is spoiled"):
        env.issue(env.codes[2], form="JX2026000003")
    with pytest.raises(ConflictError, match="JX2026000002 is used"):
        env.issue(env.codes[2], form="JX2026000002")
    with pytest.raises(NotFoundError):
        env.issue(env.codes[2], form="JX2026009999")
    with pytest.raises(ValidationError, match="required"):
        spoil_form(k, "JX2026000004", "  ")
    assert {r["batch"]: r["stock"] for r in form_stock(k)} == {"2026-A": 7, "2026-B": 5}
    # the ledger of one blank: its delivery, its use and its spoiling
    assert [e["action"] for e in ledger(k, serial="JX2026000001")] == [
        "forms.received",
        "issued",
        "voided",
        "form.spoiled",
    ]
    assert [(e["action"], e["reason"]) for e in ledger(k, serial="JX2026000003")] == [
        ("forms.received", "count 10"),
        ("form.spoiled", "印刷错位"),
    ]


def test_overlapping_or_repeated_deliveries_are_refused_whole(env: Env) -> None:
    k = env.kaowu
    receive_forms(k, "2026-A", "JX2026000001", 10)
    before = snapshot(k)
    with pytest.raises(ConflictError, match="JX2026000008 was already received"):
        receive_forms(k, "2026-B", "JX2026000008", 5)
    with pytest.raises(ConflictError, match="JX2026000001 was already received"):
        receive_forms(k, "2026-B", "JX2025999995", 10)
    with pytest.raises(ConflictError, match="batch 2026-A was already received"):
        receive_forms(k, "2026-A", "JX2026000011", 5)
    with pytest.raises(ValidationError, match="run past"):
        receive_forms(k, "2026-C", "JX99", 2)
    for bad in ("JX-", "", "证书0001", "JX20260000000000000001"):
        with pytest.raises(ValidationError):
            receive_forms(k, "2026-C", bad, 1)
    with pytest.raises(ValidationError):
        receive_forms(k, "2026-C", "JX2026000011", 0)
    assert snapshot(k) == before
    assert receive_forms(k, "2026-B", "JX2026000011", 5)["last"] == "JX2026000015"
    assert (
        receive_forms(k, "2026-C", "JX202600001", 3)["last"] == "JX202600003"
    )  # another width: another series
    with pytest.raises(PermissionDenied):
        receive_forms(env.sup, "2026-D", "ZZ01", 1)


# ---------------------------------------------------------------- 3. the ledger


def test_issue_numbers_the_certificate_from_plan_site_year_and_level(env: Env) -> None:
    numbers = [env.issue(c) for c in env.codes[:3]]
    assert numbers == [f"{PREFIX}{n:06d}" for n in (1, 2, 3)]
    p = parse_number(numbers[0])
    assert (p["kind"], p["institution"], p["province"], p["site"], p["year"], p["level"]) == (
        "S",
        "0001",
        "36",
        SITE,
        TODAY.year % 100,
        3,
    )
    void_certificate(env.kaowu, numbers[2], "印错")
    assert env.issue(env.codes[2]) == f"{PREFIX}000004"  # a voided number is never reused
    rows = list_certificates(env.kaowu, session_code=SESSION)
    assert [(r["number"][16:], r["status"], r["candidate"]) for r in rows] == [
        ("000001", "issued", env.codes[0]), ("000002", "issued", env.codes[1]), ("000003", "voided", env.codes[2]),
        ("000004", "issued", env.codes[2])]  # fmt: skip
    assert [r["number"] for r in list_certificates(env.kaowu, status="voided")] == [numbers[2]]
    assert all(r["issued_on"] == TODAY.isoformat() for r in rows)


def test_issue_then_void(env: Env) -> None:
    receive_forms(env.kaowu, "A", "ZS000001", 3)
    n = env.issue(env.codes[0], form="ZS000001")
    r = void_certificate(env.kaowu, n, "照片贴错")
    assert (r["status"], r["reason"], r["form_serial"]) == ("voided", "照片贴错", "ZS000001")
    assert _status(env.kaowu, n) == "voided"
    assert [(e["action"], e["number"], e["form_serial"]) for e in ledger(env.kaowu, number=n)] == [
        ("issued", n, "ZS000001"), ("voided", n, "ZS000001"), ("form.spoiled", n, "ZS000001")]  # fmt: skip
    assert form_stock(env.kaowu)[0]["spoiled"] == 1
    c = check_certificate(env.kaowu, n)
    assert (c["status"], c["reason"], c["replaced_by"]) == ("voided", "照片贴错", None)


def test_issue_then_reissue_both_traceable(env: Env) -> None:
    receive_forms(env.kaowu, "A", "ZS000001", 3)
    old = env.issue(env.codes[0], form="ZS000001")
    r = reissue_certificate(env.kaowu, old, "证书遗失（补发）", form_serial="ZS000002")
    new = r["number"]
    assert new != old and r["replaced"] == old and r["replaces"] == old and r["status"] == "issued"
    assert new[:16] == old[:16] and int(new[16:]) == int(old[16:]) + 1
    assert (_status(env.kaowu, old), _status(env.kaowu, new)) == ("replaced", "issued")
    history = [(e["action"], e["number"], e["reason"]) for e in ledger(env.kaowu, number=old)]
    assert history == [
        ("issued", old, f"session {SESSION}"),
        ("reissued", old, "证书遗失（补发）"),
        ("reissued", new, "证书遗失（补发）"),
    ]
    assert ledger(env.kaowu, number=new) == ledger(env.kaowu, number=old)
    c_old, c_new = check_certificate(env.kaowu, old), check_certificate(env.kaowu, new)
    assert (c_old["status"], c_old["replaced_by"], c_old["reason"]) == ("replaced", new, "证书遗失（补发）")
    assert (c_new["status"], c_new["replaces"], c_new["replaced_by"], c_new["form_serial"]) == (
        "issued",
        old,
        None,
        "ZS000002",
    )
    assert c_old["chain"] == c_new["chain"] == [old, new]
    assert len(c_new["history"]) == 3
    # the holder is the same person, sealed again under the new row
    with env.kaowu.transaction() as s:
        rows = {c.number: c for c in s.scalars(select(Certificate))}
        keyring = env.kaowu.keyring(s)
        assert certs.open_holder(keyring, rows[new]) == certs.open_holder(keyring, rows[old])
        assert certs.open_holder(keyring, rows[new])["name"] == "证书考生1"
        assert rows[new].holder != rows[old].holder and rows[new].candidate_id == rows[old].candidate_id
    # the replacement can itself be reissued: the chain grows
    newer = reissue_certificate(env.kaowu, new, "再次遗失")["number"]
    assert check_certificate(env.kaowu, old)["chain"] == [old, new, newer]
    assert check_certificate(env.kaowu, new)["replaced_by"] == newer


def test_revoke_needs_a_reason_and_the_permission(env: Env) -> None:
    n = env.issue(env.codes[0])
    before = snapshot(env.kaowu)
    for reason in ("", "   "):
        with pytest.raises(ValidationError, match="required"):
            revoke_certificate(env.adm, n, reason)
    with pytest.raises(PermissionDenied):
        revoke_certificate(env.sup, n, "考试舞弊被查实")
    with pytest.raises(ValidationError, match="at most 400"):
        revoke_certificate(env.adm, n, "x" * 401)
    assert snapshot(env.kaowu) == before
    r = revoke_certificate(env.adm, n, "考试舞弊被查实")
    assert (r["status"], r["reason"]) == ("revoked", "考试舞弊被查实")
    c = check_certificate(env.sup, n)  # a supervisor may read
    assert (c["status"], c["reason"]) == ("revoked", "考试舞弊被查实")
    assert [(e["action"], e["reason"], e["actor"]) for e in c["history"]][-1] == (
        "revoked",
        "考试舞弊被查实",
        "adm",
    )
    with pytest.raises(PermissionDenied):
        void_certificate(env.sup, env.issue(env.codes[1]), "x")


@pytest.mark.parametrize("first", ["void", "reissue", "revoke"])
def test_illegal_transitions_are_refused_and_nothing_changes(env: Env, first: str) -> None:
    n = env.issue(env.codes[0])
    {"void": void_certificate, "reissue": reissue_certificate, "revoke": revoke_certificate}[first](
        env.adm if first == "revoke" else env.kaowu, n, "first"
    )
    status = {"void": "voided", "reissue": "replaced", "revoke": "revoked"}[first]
    before = snapshot(env.kaowu)
    for action, fn, bank in (("void", void_certificate, env.kaowu), ("reissue", reissue_certificate, env.kaowu),
                             ("revoke", revoke_certificate, env.adm)):  # fmt: skip
        with pytest.raises(ConflictError) as exc:
            fn(bank, n, "again")
        assert f"is {status}" in str(exc.value), (action, exc.value)
    assert snapshot(env.kaowu) == before
    with pytest.raises(NotFoundError):
        void_certificate(env.kaowu, f"{PREFIX}999999", "x")
    with pytest.raises(ValidationError, match="character 1"):
        void_certificate(env.kaowu, "s" + n[1:], "x")


def test_who_may_receive_a_certificate(env: Env, make_bank: Callable[..., Bank]) -> None:
    k = env.kaowu
    with k.transaction(write=True) as s:
        s.scalars(select(Candidate).where(Candidate.code == env.codes[5])).one().status = "registered"
    with pytest.raises(ConflictError, match=f"candidate {env.codes[5]} is registered"):
        env.issue(env.codes[5])
    n = env.issue(env.codes[0])
    with pytest.raises(ConflictError, match=f"already holds certificate {n}"):
        env.issue(env.codes[0])
    void_certificate(k, n, "misprint")
    n2 = env.issue(env.codes[0])  # a voided misprint is issued again, under a new number
    revoke_certificate(env.adm, n2, "考试舞弊被查实")
    with pytest.raises(ConflictError, match="was revoked"):
        env.issue(env.codes[0])
    # the same person registered again in another session: still one issued certificate per occupation and level
    create_session(k, "C-02", occupation=OCC, level=3, exam_date=EXAM_DAY)
    placed = add_candidates(k, "C-02", [{"name": "证书考生2", "id_number": env.ids[env.codes[1]]}])
    _accept_and_number(k, "C-02")
    n3 = env.issue(env.codes[1])
    with k.transaction(write=True) as s:
        actor = k.actor(s, "certificate.issue")
        exam = get_session(s, "C-02")
        cand = s.scalars(select(Candidate).where(Candidate.code == placed[0]["code"])).one()
        with pytest.raises(ConflictError, match=f"same person .* already holds certificate {n3}"):
            issue_certificate(s, actor, k.keyring(s), exam, cand, on=TODAY)
        other = get_session(s, SESSION)
        with pytest.raises(ConflictError, match="not placed in session C-01"):
            issue_certificate(s, actor, k.keyring(s), other, cand, on=TODAY)
    # dates: not before the exam, not in the future
    with pytest.raises(ValidationError, match="before session"):
        env.issue(env.codes[3], on=EXAM_DAY - timedelta(days=1))
    with pytest.raises(ValidationError, match="future"):
        env.issue(env.codes[3], on=TODAY + timedelta(days=1))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"plan_year": None}, "belongs to no annual plan"),
        ({"body": {}}, "sets no certificate numbering"),
        (
            {"body": {"evaluation": {"kind": "s", "institution_code": "0001", "province": "36"}}},
            "evaluation.kind",
        ),
        (
            {"body": {"evaluation": {"kind": "S", "institution_code": "1", "province": "36"}}},
            "evaluation.institution_code",
        ),
        (
            {"body": {"evaluation": {"kind": "S", "institution_code": "0001", "province": "99"}}},
            "evaluation.province",
        ),
        ({"site_code": ""}, "has no 6-digit site code"),
        ({"site_code": "36A101"}, "site_code"),
    ],
)
def test_numbering_needs_the_plan_and_the_site_code(env: Env, change: dict[str, Any], fragment: str) -> None:
    with env.kaowu.transaction(write=True) as s:
        exam = get_session(s, SESSION)
        for key, value in change.items():
            setattr(s.get(ExamPlan, EXAM_DAY.year) if key == "body" else exam, key, value)
    before = snapshot(env.kaowu)
    with pytest.raises(ConflictError, match=re.escape(fragment)):
        env.issue(env.codes[0])
    assert snapshot(env.kaowu) == before


def test_issuing_without_released_results_is_refused(env: Env) -> None:
    receive_forms(env.kaowu, "A", "ZS000001", 3)
    before = snapshot(env.kaowu)
    for forms in (False, True):
        with pytest.raises(ConflictError) as exc:
            issue_certificates(env.kaowu, SESSION, forms=forms)
        assert str(exc.value).startswith(f"no released results for session {SESSION}: results are computed, publicised and released")
    assert snapshot(env.kaowu) == before
    with pytest.raises(PermissionDenied):
        issue_certificates(env.sup, SESSION)
    with pytest.raises(NotFoundError):
        issue_certificates(env.kaowu, "NO-SUCH")


def test_issue_certificates_batch_through_the_results_seam(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seam stubbed (only here): what issue_certificates does once scoring answers it."""
    passed = env.codes[:4]

    def released(session: Any, exam: Any) -> list[Candidate]:
        return list(session.scalars(select(Candidate).where(Candidate.code.in_(passed))))

    monkeypatch.setattr(certs, "released_passes", released)
    receive_forms(env.kaowu, "A", "ZS000001", 3)
    with pytest.raises(ConflictError, match="4 certificates to issue but 3 blank forms"):
        issue_certificates(env.kaowu, SESSION, forms=True)
    receive_forms(env.kaowu, "B", "ZS000004", 3)
    rows = issue_certificates(env.kaowu, SESSION, forms=True)
    assert [(r["candidate"], r["number"][16:], r["form_serial"]) for r in rows] == [
        (c, f"{n:06d}", f"ZS{n:06d}") for n, c in enumerate(sorted(passed), 1)]  # fmt: skip
    assert issue_certificates(env.kaowu, SESSION, forms=True) == []  # a second run issues nothing twice
    revoke_certificate(env.adm, rows[0]["number"], "考试舞弊被查实")
    void_certificate(env.kaowu, rows[1]["number"], "印错")
    again = issue_certificates(env.kaowu, SESSION)  # the misprint is issued again; the revoked one is not
    assert [r["candidate"] for r in again] == [rows[1]["candidate"]]


# ---------------------------------------------------------------- 4. the ledger as a state machine


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_ledger_transitions_follow_the_model(env: Env, data: st.DataObject) -> None:
    model = {env.issue(next(env.unused)): "issued"}
    for _ in range(data.draw(st.integers(1, 5), label="steps")):
        number = data.draw(st.sampled_from(sorted(model)), label="number")
        action = data.draw(st.sampled_from(["void", "reissue", "revoke"]), label="action")
        fn = {"void": void_certificate, "reissue": reissue_certificate, "revoke": revoke_certificate}[action]
        bank = env.adm if action == "revoke" else env.kaowu
        with env.kaowu.transaction() as s:
            events = s.scalar(select(func.count()).select_from(CertificateEvent))
        if model[number] == "issued":
            r = fn(bank, number, f"{action} step")
            model[number] = next_status("issued", action)
            if action == "reissue":
                model[r["number"]] = "issued"
        else:
            with pytest.raises(ConflictError, match=f"is {model[number]}"):
                fn(bank, number, "illegal")
            with env.kaowu.transaction() as s:
                assert s.scalar(select(func.count()).select_from(CertificateEvent)) == events
        with env.kaowu.transaction() as s:
            now = dict(
                s.execute(
                    select(Certificate.number, Certificate.status).where(Certificate.number.in_(model))
                ).all()
            )
        assert now == model
        assert (
            sum(1 for v in model.values() if v == "issued") <= 1
        )  # one holder, at most one valid certificate


# ---------------------------------------------------------------- 5. tokens


def _trusted(env: Env) -> VerifyKey:
    return VerifyKey.parse(institution_key(env.kaowu))


def test_token_verifies_and_refuses_tampering_other_keys_and_badges(env: Env) -> None:
    n = env.issue(env.codes[0])
    token = certificate_qr(env.kaowu, n)["token"]
    assert certificate_qr(env.kaowu, n)["token"] == token  # deterministic: a reprint carries the same text
    trusted = _trusted(env)
    r = verify_certificate(token, trusted)
    number = env.ids[env.codes[0]]
    assert (r["number"], r["occupation"], r["level"], r["issued_on"], r["name"]) == (
        n,
        OCC,
        3,
        TODAY.isoformat(),
        "证书考生1",
    )
    assert r["id_number_masked"] == number[:4] + "*" * 10 + number[-4:] and r["status_checked"] is False
    body = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
    assert number not in body and number[4:14] not in body
    # one character changed anywhere: refused
    for i in range(4, len(token), 7):
        c = token[i]
        if c == ".":
            continue
        bad = token[:i] + ("A" if c != "A" else "B") + token[i + 1 :]
        with pytest.raises((ValidationError, IntegrityError)):
            verify_certificate(bad, trusted)
    # another institution's key, and a token it signs
    other = SigningKey.generate("other-institution")
    with pytest.raises(IntegrityError, match="not signed by"):
        verify_certificate(token, other.verify_key)
    forged = sign_token(other, "certificate", open_token(trusted, token, "certificate"))
    with pytest.raises(IntegrityError, match="not signed by"):
        verify_certificate(forged, trusted)
    # a genuine badge token of this institution is not a certificate
    with env.kaowu.transaction() as s:
        key = institution_signing_key(s, env.kaowu.keyring(s))
    badge = sign_token(key, "staff-badge", {"number": n, "staff": "JK1"})
    with pytest.raises(IntegrityError, match="not a 'certificate'"):
        verify_certificate(badge, trusted)
    malformed = sign_token(key, "certificate", {"number": n[:-1] + "X"})
    with pytest.raises(IntegrityError, match="malformed"):
        verify_certificate(malformed, trusted)


def test_token_checked_against_the_ledger(env: Env) -> None:
    n = env.issue(env.codes[0])
    other = env.issue(env.codes[1])
    token = certificate_qr(env.kaowu, n)["token"]
    trusted = _trusted(env)
    assert (
        verify_certificate(token, trusted, ledger=check_certificate(env.kaowu, n))["status_checked"] is True
    )
    assert (
        verify_certificate(token, trusted, ledger={n: check_certificate(env.kaowu, n)})["status"] == "issued"
    )
    with pytest.raises(ValidationError, match=f"for certificate {other}"):
        verify_certificate(token, trusted, ledger=check_certificate(env.kaowu, other))
    with pytest.raises(CertificateRefused, match="not in the ledger"):
        verify_certificate(token, trusted, ledger={other: check_certificate(env.kaowu, other)})
    new = reissue_certificate(env.kaowu, n, "遗失")["number"]
    with pytest.raises(CertificateRefused, match=f"is replaced: 遗失; replaced by {new}"):
        verify_certificate(token, trusted, ledger=check_certificate(env.kaowu, n))
    with pytest.raises(ConflictError, match="is replaced"):
        certificate_qr(env.kaowu, n)
    new_token = certificate_qr(env.kaowu, new)["token"]
    assert verify_certificate(new_token, trusted)["replaces"] == n
    revoke_certificate(env.adm, new, "考试舞弊被查实")
    with pytest.raises(CertificateRefused, match="is revoked: 考试舞弊被查实"):
        verify_certificate(new_token, trusted, ledger=check_certificate(env.kaowu, new))


# ---------------------------------------------------------------- 6. the holder is sealed; the printed data


def test_holder_document_is_sealed(env: Env, make_bank: Callable[..., Bank]) -> None:
    k = env.kaowu
    name = f"欧阳证书{time.time_ns() % 100000:05d}"
    number = id_number(777, "19900101")
    create_session(k, "C-03", occupation=OCC, level=3, exam_date=EXAM_DAY)
    placed = add_candidates(k, "C-03", [{"name": name, "id_number": number}])
    _accept_and_number(k, "C-03")
    with k.transaction(write=True) as s:
        actor = k.actor(s, "certificate.issue")
        cand = s.scalars(select(Candidate).where(Candidate.code == placed[0]["code"])).one()
        cert = issue_certificate(s, actor, k.keyring(s), get_session(s, "C-03"), cand, on=TODAY)
        n = cert.number
        assert certs.open_holder(k.keyring(s), cert) == {"name": name, "id_number": number, "gender": "男"}
    new = reissue_certificate(k, n, "遗失")["number"]
    shown = json.dumps(
        [check_certificate(k, new), list_certificates(k), ledger(k)], ensure_ascii=False, default=str
    )
    assert name not in shown and number not in shown
    for b in (k, env.adm, env.sup):
        b.close()
    needles = []
    for s_ in (name, number):
        needles += [s_.encode(), s_.encode("utf-16-le"), s_.encode("gb18030")]
    scan_bank(k.engine.url, needles)


def _give_photo(bank: Bank, code: str, photo: bytes) -> None:
    with bank.transaction(write=True) as s:
        keyring = bank.keyring(s)
        cand = s.scalars(select(Candidate).where(Candidate.code == code)).one()
        doc = certs.open_candidate(keyring, cand)
        cand.version += 1
        values = seal_fields(
            keyring,
            CANDIDATE_PERSONAL,
            str(cand.id),
            cand.version,
            {"personal": canonical_json(doc), "photo": photo},
        )
        for key, value in values.items():
            setattr(cand, key, value)


def test_certificate_pdf_is_given_the_printed_fields(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    stub = types.ModuleType("examvault.registration.documents")
    stub.render_certificate = lambda cert: seen.append(cert) or b"%PDF-stub"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "examvault.registration.documents", stub)
    _give_photo(env.kaowu, env.codes[1], b"\x89PNG-photo-bytes")
    receive_forms(env.kaowu, "A", "ZS000001", 2)
    n = env.issue(env.codes[1], form="ZS000001")
    assert certificate_pdf(env.kaowu, n) == b"%PDF-stub"
    (doc,) = seen
    number = env.ids[env.codes[1]]
    assert set(doc) == {"number", "name", "gender", "id_number", "occupation", "occupation_name", "level", "level_name",
                        "issued_on", "institution", "photo", "token", "form_serial"}  # fmt: skip
    assert {k: v for k, v in doc.items() if k != "token"} == {
        "number": n, "name": "证书考生2", "gender": "女", "id_number": number, "occupation": OCC, "occupation_name": "电工",
        "level": 3, "level_name": "三级/高级工", "issued_on": TODAY.isoformat(), "institution": "测试技师学院",
        "photo": b"\x89PNG-photo-bytes", "form_serial": "ZS000001"}  # fmt: skip
    assert verify_certificate(doc["token"], _trusted(env))["number"] == n
    with pytest.raises(PermissionDenied):
        certificate_pdf(env.sup, n)
    void_certificate(env.kaowu, n, "印错")
    with pytest.raises(ConflictError, match="is voided"):
        certificate_pdf(env.kaowu, n)


def test_certificate_pdf_renders_and_its_qr_code_verifies(env: Env, tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("examvault.registration.documents") is None:
        pytest.skip(
            "examvault.registration.documents (render_certificate) is written in parallel and not in this tree yet"
        )
    from PIL import Image
    from pypdf import PdfReader

    from tests.staff.test_badges import _qr_texts

    buf = io.BytesIO()
    Image.new("RGB", (240, 320), (200, 220, 240)).save(buf, "PNG")
    _give_photo(env.kaowu, env.codes[0], buf.getvalue())
    n = env.issue(env.codes[0])
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(certificate_pdf(env.kaowu, n))
    text = PdfReader(pdf).pages[0].extract_text()
    assert n in text and "证书考生1" in text
    (scanned,) = _qr_texts(pdf, tmp_path)
    assert len(scanned) == 1
    assert verify_certificate(scanned[0], _trusted(env))["number"] == n


# ---------------------------------------------------------------- 7. the CLI


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run(env: Env, db_url: str) -> Callable[..., Ran]:
    """As the installed command runs: main() maps errors to a message and an exit code."""
    if "certificate" not in cli.commands:  # until examvault/cli.py registers the group
        cli.add_command(certificate_group)

    def go(*args: str, user: str = "kaowu", code: int = 0) -> Ran:
        env_vars = {"EXAMVAULT_PASSPHRASE": PASSPHRASE, "EXAMVAULT_USER": None, "EXAMVAULT_DB": None}
        with CliRunner().isolation(env=env_vars) as (stdout, stderr, _):
            try:
                main(["--db", db_url, "--user", user, "certificate", *args])
                got = 0
            except SystemExit as exc:
                got = int(exc.code or 0)
            sys.stdout.flush()
            sys.stderr.flush()
            result = Ran(got, stdout.getvalue().decode(), stderr.getvalue().decode())
        assert result.code == code, result
        return result

    return go


def test_cli(env: Env, run: Callable[..., Ran], tmp_path: Path) -> None:
    run("forms", "receive", "2026-A", "--first", "JX2026000001", "--count", "5")
    run("forms", "spoil", "JX2026000005", "--reason", "印刷错位")
    assert (
        "JX2026000003"
        in run("forms", "receive", "2026-B", "--first", "JX2026000003", "--count", "5", code=5).output
    )
    stock = json.loads(run("forms", "list", "--json").stdout)
    assert [(r["batch"], r["stock"], r["spoiled"]) for r in stock] == [("2026-A", 4, 1)]
    n = env.issue(env.codes[0], form="JX2026000001")
    assert "no released results" in run("issue", SESSION, "--forms", code=5).output
    rows = json.loads(run("list", "--session", SESSION, "--json").stdout)
    assert [(r["number"], r["status"]) for r in rows] == [(n, "issued")]
    token = run("token", n).stdout.strip()
    (tmp_path / "institution.vkey").write_text(institution_key(env.kaowu), "utf-8")
    trust = str(tmp_path / "institution.vkey")
    assert json.loads(run("verify", token, "--trust", trust, "--json").stdout)["number"] == n
    (tmp_path / "token.txt").write_text(token, "utf-8")
    assert (
        json.loads(run("verify", "@" + str(tmp_path / "token.txt"), "--trust", trust, "--json").stdout)[
            "name"
        ]
        == "证书考生1"
    )
    new = json.loads(run("reissue", n, "--reason", "遗失", "--form", "JX2026000002", "--json").stdout)[
        "number"
    ]
    shown = run("show", n, "--json").stdout
    (tmp_path / "status.json").write_text(shown, "utf-8")
    assert json.loads(shown)["replaced_by"] == new
    assert (
        "replaced by"
        in run("verify", token, "--trust", trust, "--ledger", str(tmp_path / "status.json"), code=8).output
    )
    run("revoke", new, "--reason", "考试舞弊被查实", user="adm")
    run("revoke", new, "--reason", "again", user="adm", code=5)
    run("void", new, "--reason", "x", user="sup", code=6)
    assert [e["action"] for e in json.loads(run("ledger", "--number", new, "--json").stdout)] == [
        "issued",
        "reissued",
        "reissued",
        "revoked",
    ]
    assert "revoked" in run("show", new).output
    ok = run("validate", n)
    assert "36" in ok.output and SITE in ok.output
    assert json.loads(run("validate", n, "--json").stdout)["serial"] == 1
    bad = run("validate", n[:15] + "7" + n[16:], code=3)
    assert "character 16 (level)" in bad.output


# ---------------------------------------------------------------- 8. concurrency (PostgreSQL)


PG_ONLY = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (set EXAMVAULT_TEST_PG_URL): SQLite serialises every writer "
                                                  "with BEGIN IMMEDIATE, so only PostgreSQL exercises the numbering lock")  # fmt: skip


@PG_ONLY
def test_concurrent_issues_take_distinct_serials(
    env: Env, make_bank: Callable[..., Bank], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = make_bank("kaowu"), make_bank("kaowu")
    for bank in (a, b):  # unlock up front, so the threads start together
        with bank.transaction() as s:
            bank.keyring(s)
    real = certs.next_serial

    def slow(session: Any, prefix: str) -> int:  # widen the window between reading the serial and writing it
        serial = real(session, prefix)
        time.sleep(0.4)
        return serial

    monkeypatch.setattr(certs, "next_serial", slow)
    for round_ in range(2):
        pair = env.codes[2 * round_ : 2 * round_ + 2]
        numbers = _together([lambda p=pair: env.issue(p[0], bank=a), lambda p=pair: env.issue(p[1], bank=b)])
        assert sorted(int(x[16:]) for x in numbers) == [2 * round_ + 1, 2 * round_ + 2], (round_, numbers)

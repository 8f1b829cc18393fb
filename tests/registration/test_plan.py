"""The annual plan (年度认定计划): created from YAML, refused with clear messages, replaced only before
its 公告, announced as PDF and DOCX; eligibility rule versions; an employer's own conditions; who may."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from sqlalchemy import select

from examvault.bank import Bank
from examvault.errors import ConflictError, PermissionDenied, ValidationError
from examvault.registration import eligibility as E
from examvault.registration.candidates import add_candidate, import_candidates, show_candidate
from examvault.registration.models import EligibilityRuleSet, ExamPlan
from examvault.registration.plan import (
    announce,
    create_plan,
    set_eligibility_rules,
    show_eligibility_rules,
    show_plan,
)
from examvault.registration.service import create_session
from examvault.registration.sittings import seat_session
from examvault.registration.tickets import print_tickets
from tests.conftest import OCC, snapshot
from tests.registration.conftest import EXAM_DATE, YEAR, id_number, person, plan_doc, write_form, write_plan

NATIONAL_3 = [b["text"] for b in yaml.safe_load(E.default_rules_text())["defaults"][3]]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    pages = (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *pages, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def docx_text(path: Path) -> str:
    d = docx.Document(str(path))
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in d.paragraphs] + cells)


def applicant(n: int, **over: str) -> dict[str, str]:
    """`candidate add` fields of a level-3 applicant with no certificate: eligible only by special rules."""
    fields = {"name": f"申请人{n}", "id_number": id_number(n), "occupation": OCC, "level": "3", "gender": "男",
              "education": "高中", "years": "3"}  # fmt: skip
    return fields | over


# ------------------------------------------------------------------ creating


def test_a_plan_is_created_from_yaml_with_names_and_the_national_conditions(
    make_bank: Callable[..., Bank], tmp_path: Path
) -> None:
    admin = make_bank("kaowu")
    r = create_plan(
        admin,
        write_plan(
            tmp_path / "plan.yaml", occupations=[{"code": OCC, "levels": ["三级"], "fees": {"三级": "250"}}]
        ),
    )
    assert r["year"] == YEAR and r["announced_at"] is None
    assert r["occupations"] == [
        {"code": OCC, "levels": [3], "fees": {"3": 250}, "sessions": [], "name": "电工"}
    ]
    assert r["evaluation"] == {"kind": "S", "institution_code": "0001", "province": "36"}
    assert r["sites"] == [{"code": "360101", "name": "示范技师学院", "address": "南昌市青山湖区示范路1号"}]
    shown = show_plan(admin, YEAR)
    assert shown["title"] == f"{YEAR}年度职业技能等级认定工作计划" and shown["window"] == plan_doc()["window"]
    assert shown["eligibility"] == {OCC: {"3": NATIONAL_3}}
    # the first plan stores the packaged national rules as version 1
    assert show_eligibility_rules(admin)["version"] == 1 and show_eligibility_rules(admin)["stored"]


def test_a_plan_may_be_json(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    import json

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan_doc(), ensure_ascii=False), "utf-8")
    assert create_plan(make_bank("kaowu"), path)["year"] == YEAR


BAD_PLANS = [
    (dict(occupations=[{"code": "4-01-01-01", "levels": [3], "fees": {"3": 100}}]),
     "occupation 4-01-01-01 is not on file (import its outline first)"),
    (dict(occupations=[{"code": OCC, "levels": [3, 4], "fees": {"3": 250, "4": 200}}]),
     f"occupation {OCC} has no theory outline for level(s) 4"),
    (dict(occupations=[{"code": OCC, "levels": [5, 3, 2], "fees": {"3": 250, "5": 1, "2": 3}}]),
     f"occupation {OCC} has no theory outline for level(s) 5, 2"),
    (dict(window={"open": "2030-03-10", "close": "2030-03-01"}),
     "the registration window closes (2030-03-01) before it opens (2030-03-10)"),
    (dict(window={"open": "2030-03-10", "close": "2030-02-30"}), "window.close: '2030-02-30' is not a date (YYYY-MM-DD)"),
    (dict(evaluation={"kind": "S", "institution_code": "0001", "province": "99"}),
     "evaluation.province '99' is not a province code (GB/T 2260, e.g. 36 江西)"),
    (dict(evaluation={"kind": "S", "institution_code": "01", "province": "36"}), "evaluation.institution_code is 4 digits"),
    (dict(evaluation={"kind": "Z", "institution_code": "0001", "province": "36"}), "evaluation.kind is Y (employer) or S"),
    (dict(sites=[{"code": "36010", "name": "示范技师学院"}]), "sites[1] needs a 6-digit code and a name"),
    (dict(sites=[{"code": "360101", "name": "甲"}, {"code": "360101", "name": "乙"}]), "site codes repeat"),
    (dict(employer_conditions=[{"id": "E1", "text": "本单位工作3年", "levels": [3], "all": [{"years": 3}]}]),
     "employer_conditions apply only to an employer's own evaluation (evaluation.kind Y)"),
    (dict(occupations=[{"code": OCC, "levels": [3], "fees": {}}]), "occupations[1]: no fee for level(s) 3"),
    (dict(occupations=[{"code": OCC, "levels": [3], "fees": {"3": "免费"}}]), "occupations[1]: fee '3': '免费' is not a level"),
    (dict(occupations=[{"code": OCC, "levels": ["七级"], "fees": {"3": 1}}]), "occupations[1]: level '七级' is not one of 5..1"),
    (dict(year=1999), "year 1999 is not a year 2000–2099"),
    (dict(sites=[]), "field 'sites' is required"),
]  # fmt: skip


@pytest.mark.parametrize(("over", "message"), BAD_PLANS, ids=[m[:40] for _, m in BAD_PLANS])
def test_a_bad_plan_is_refused_with_a_clear_message_and_changes_nothing(make_bank: Callable[..., Bank], tmp_path: Path,
                                                                        over: dict[str, Any], message: str) -> None:  # fmt: skip
    admin = make_bank("kaowu")
    before = snapshot(admin)
    path = write_plan(tmp_path / "plan.yaml", **over)
    with pytest.raises(ValidationError) as exc:
        create_plan(admin, path)
    assert str(exc.value).startswith(f"{path}: ") and message in str(exc.value)
    assert snapshot(admin) == before  # not even the rules' version 1


def test_a_plan_file_that_is_not_yaml_or_not_there(make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    admin = make_bank("kaowu")
    (tmp_path / "bad.yaml").write_text("year: [2027\n", "utf-8")
    with pytest.raises(ValidationError, match="bad.yaml: not valid YAML/JSON"):
        create_plan(admin, tmp_path / "bad.yaml")
    with pytest.raises(ValidationError, match="cannot read the plan"):
        create_plan(admin, tmp_path / "missing.yaml")


# ------------------------------------------------------------------ replace, announce, fixed


def test_replace_before_announce_then_fixed(planned: Bank, tmp_path: Path) -> None:
    path = write_plan(tmp_path / "v2.yaml", occupations=[{"code": OCC, "levels": [3], "fees": {"3": 320}}])
    with pytest.raises(ConflictError, match=f"a plan for {YEAR} exists; pass --replace"):
        create_plan(planned, path)
    assert create_plan(planned, path, replace=True)["occupations"][0]["fees"] == {"3": 320}
    assert show_plan(planned, YEAR)["occupations"][0]["fees"] == {"3": 320}

    out = tmp_path / "公告"
    r = announce(planned, YEAR, out)
    pdf, docx_path = (Path(f) for f in r["files"])
    assert pdf == out / f"{YEAR}年职业技能等级认定公告.pdf" and docx_path.suffix == ".docx"
    assert (
        pdf.read_bytes().startswith(b"%PDF") and show_plan(planned, YEAR)["announced_at"] == r["announced_at"]
    )
    for text in (squeeze(pdf_text(pdf)), squeeze(docx_text(docx_path))):
        assert f"{YEAR}年职业技能等级认定公告" in text and "电工" in text and OCC in text
        assert "320" in text and "三级/高级工" in text
        for wording in NATIONAL_3:  # the national conditions for level 3, word for word
            assert squeeze(wording) in text
        assert "示范技师学院" in text and "0791-86123456" in text

    before = snapshot(planned)
    with pytest.raises(
        ConflictError, match=f"the {YEAR} plan was announced on .*; an announced plan is not replaced"
    ):
        create_plan(planned, write_plan(tmp_path / "v3.yaml"), replace=True)
    assert snapshot(planned) == before
    with planned.transaction() as s:
        assert s.get(ExamPlan, YEAR).body["occupations"][0]["fees"] == {"3": 320}


# ------------------------------------------------------------------ eligibility rule versions


def _rules_v2(path: Path) -> Path:
    doc = yaml.safe_load(E.default_rules_text())
    doc["defaults"][3] = [
        *doc["defaults"][3],
        {"id": "z", "text": "试行：累计从事本职业工作3年（含）以上", "all": [{"years": 3}]},
    ]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    return path


def test_a_new_rules_version_decides_later_registrations(planned: Bank, tmp_path: Path) -> None:
    before = add_candidate(planned, YEAR, applicant(1))
    assert before["status"] == "refused"
    r = set_eligibility_rules(planned, _rules_v2(tmp_path / "rules.yaml"))
    assert r["version"] == 2 and len(r["digest"]) == 64
    shown = show_eligibility_rules(planned)
    assert (
        shown["version"] == 2 and shown["rules"]["defaults"]["3"][-1]["id"] == "z"
    )  # stored as JSON: keys are text
    after = add_candidate(planned, YEAR, applicant(2))
    assert (after["status"], after["rule"]) == ("accepted", f"{OCC}/3: z")
    assert show_candidate(planned, after["id"])["decisions"][0]["rules_version"] == 2
    assert (
        show_candidate(planned, before["id"])["decisions"][0]["rules_version"] == 1
    )  # earlier decisions keep theirs
    assert show_plan(planned, YEAR)["eligibility"][OCC]["3"][-1] == "试行：累计从事本职业工作3年（含）以上"
    with planned.transaction() as s:
        assert s.scalars(select(EligibilityRuleSet.version).order_by(EligibilityRuleSet.version)).all() == [
            1,
            2,
        ]


def test_a_malformed_rule_file_is_refused_and_stores_nothing(planned: Bank, tmp_path: Path) -> None:
    doc = yaml.safe_load(E.default_rules_text())
    doc["defaults"][3][0]["all"].append({"salary": 5000})
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    before = snapshot(planned)
    with pytest.raises(
        ValidationError,
        match=r"rules.yaml: defaults, level 3, branch 1 \(a\): \{'salary': 5000\} is not a condition",
    ):
        set_eligibility_rules(planned, path)
    assert snapshot(planned) == before


def test_a_supervisor_may_not_store_rules(
    planned: Bank, make_bank: Callable[..., Bank], tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied):
        set_eligibility_rules(make_bank("sup"), _rules_v2(tmp_path / "rules.yaml"))
    assert show_eligibility_rules(make_bank("sup"))["version"] == 1


# ------------------------------------------------------------------ an employer's own evaluation

EMPLOYER = {"evaluation": {"kind": "Y", "institution_code": "0001", "province": "36"}}


def test_an_employers_conditions_must_keep_the_minimum_years(
    make_bank: Callable[..., Bank], tmp_path: Path
) -> None:
    admin = make_bank("kaowu")
    low = [{"id": "E1", "text": "本企业工作2年", "levels": [3], "all": [{"years": 2}]}]
    with pytest.raises(
        ValidationError,
        match="employer_conditions, condition E1: level 3 needs at least 3 years .* asks for 2",
    ):
        create_plan(admin, write_plan(tmp_path / "low.yaml", employer_conditions=low, **EMPLOYER))
    ok = [{"id": "E1", "text": "在本企业从事本职业工作3年（含）以上", "levels": [3], "all": [{"years": 3}]}]
    create_plan(admin, write_plan(tmp_path / "ok.yaml", employer_conditions=ok, **EMPLOYER))
    assert show_plan(admin, YEAR)["eligibility"][OCC]["3"] == [
        *NATIONAL_3,
        "（用人单位条件）在本企业从事本职业工作3年（含）以上",
    ]
    r = add_candidate(admin, YEAR, applicant(1))
    assert (r["status"], r["rule"], r["reason"]) == (
        "accepted",
        f"plan {YEAR}: E1",
        "在本企业从事本职业工作3年（含）以上",
    )
    short = add_candidate(admin, YEAR, applicant(2, years="2.5"))
    assert short["status"] == "refused" and "E1）本职业工作年限 2.5 年 < 3 年" in short["reason"]
    announced = announce(admin, YEAR, tmp_path / "out")
    assert "（用人单位条件）在本企业从事本职业工作3年（含）以上" in squeeze(
        docx_text(Path(announced["files"][1]))
    )


# ------------------------------------------------------------------ who may


def test_a_supervisor_cannot_create_a_plan_and_the_bank_is_unchanged(
    make_bank: Callable[..., Bank], tmp_path: Path
) -> None:
    sup = make_bank("sup")
    before = snapshot(sup)
    with pytest.raises(PermissionDenied):
        create_plan(sup, write_plan(tmp_path / "plan.yaml"))
    with pytest.raises(PermissionDenied):
        create_plan(make_bank("cust"), write_plan(tmp_path / "plan.yaml"))
    assert snapshot(sup) == before


def test_a_supervisor_cannot_announce(planned: Bank, make_bank: Callable[..., Bank], tmp_path: Path) -> None:
    before = snapshot(planned)
    with pytest.raises(PermissionDenied):
        announce(make_bank("sup"), YEAR, tmp_path / "out")
    assert snapshot(planned) == before and not (tmp_path / "out").exists()
    assert show_plan(make_bank("sup"), YEAR)["announced_at"] is None  # but may read it


# ------------------------------------------------------------------ the plan's own 考生注意事项


def test_the_plans_own_candidate_notices_print_on_the_tickets(
    make_bank: Callable[..., Bank], tmp_path: Path
) -> None:
    admin = make_bank("kaowu")
    own = ["考生须携带2B铅笔和黑色签字笔。", "实操考试须穿绝缘鞋、戴安全帽。"]
    create_plan(admin, write_plan(tmp_path / "plan.yaml", notices_for_candidates=own))
    import_candidates(admin, YEAR, write_form(tmp_path / "form.xlsx", [person(1)]))
    code = f"{YEAR}-05-电工-3"
    create_session(admin, code, occupation=OCC, level=3, exam_date=EXAM_DATE, plan_year=YEAR, site_code="360101",
                   times={"theory": "09:00-10:30", "skill": "13:30-16:30"})  # fmt: skip
    seat_session(admin, code)
    print_tickets(admin, code, out=tmp_path / "t.pdf")
    back = squeeze(pdf_text(tmp_path / "t.pdf", 2, 2))
    assert all(squeeze(x) in back for x in own)

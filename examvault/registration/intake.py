"""Registration forms (报名表) as rows: the columns, and every check a row must pass. Pure but for
reading photo files.

A problem names the file, the row and the column (Excel letter and header); the message never
quotes an ID number or a phone number, which are a real person's even when mistyped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from examvault.errors import Issue
from examvault.itembank import domain
from examvault.registration import eligibility as E
from examvault.registration.identity import gender_of, id_number_problem, phone_problem
from examvault.staff.service import parse_date

IMPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("报名序号", "报名号", "code"),
    "name": ("姓名", "name"),
    "id_type": ("证件类型", "id_type"),
    "id_number": ("证件号码", "身份证号", "身份证号码", "id_number"),
    "occupation": ("申报职业代码", "职业代码", "occupation"),
    "level": ("申报等级", "等级", "level"),
    "gender": ("性别", "gender"),
    "ethnicity": ("民族", "ethnicity"),
    "education": ("文化程度", "学历", "education"),
    "phone": ("手机", "手机号码", "联系电话", "phone"),
    "work_unit": ("工作单位", "单位", "work_unit"),
    "years": ("本职业工作年限", "工作年限", "years"),
    "prior_certificate": ("原证书编号", "prior_certificate"),
    "prior_occupation": ("原职业", "原职业代码", "prior_occupation"),
    "prior_level": ("原等级", "prior_level"),
    "prior_issued": ("原证书发证日期", "原发证日期", "prior_issued"),
    "declared": ("申报条件", "declared"),
    "theory": ("理论知识", "理论", "theory"),
    "skill": ("操作技能", "实操", "skill"),
    "defence": ("答辩", "defence"),
    "review": ("综合评审", "review"),
    "photo": ("照片", "photo"),
}
REQUIRED = ("name", "id_number", "occupation", "level", "gender", "education", "years")
ID_TYPES = ("居民身份证", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "港澳台居民居住证", "外国人永久居留身份证", "护照")
_GB11643_TYPES = ("居民身份证", "港澳台居民居住证")  # both carry an 18-digit number with the GB 11643 check digit
ATTEMPTS = ("新考", "补考", "免考")  # first attempt, retake of a failed part, part already passed (not sat)
PARTS = {"theory": "理论知识考试", "skill": "操作技能考核", "defence": "答辩", "review": "综合评审"}
REVIEW_LEVELS = (2, 1)  # 技师 and 高级技师 add a defence and a comprehensive review
PHOTO_LIMIT = 512 * 1024


@dataclass
class Registration:
    where: str
    columns: Mapping[str, str]  # field → "C (证件号码)", for problems found after the row checks
    doc: dict[str, Any]  # sealed: name, id_type, id_number, gender, ethnicity, phone, work_unit, prior_certificate
    code: str
    occupation: str
    level: int
    parts: dict[str, str]
    facts: E.Facts
    photo: bytes | None


def _photo(value: str, id_number: str, folders: list[Path]) -> tuple[bytes | None, str | None]:
    """The photo's bytes, from the named file or `<ID number>.jpg|.png` in the photo folder."""
    names = [value] if value else [id_number + ext for ext in (".jpg", ".jpeg", ".png")]
    for folder in folders:
        for name in names:
            path = folder / name
            if Path(name).name != name:
                return None, "give the photo's file name only, not a path"
            if path.is_file():
                data = path.read_bytes()
                if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
                    return None, "the photo found for this row is not a JPEG or PNG image"
                if len(data) > PHOTO_LIMIT:
                    return None, f"the photo found for this row is {len(data) // 1024} KB; a registration photo is at most {PHOTO_LIMIT // 1024} KB"
                return data, None
    return None, (f"photo file {value!r} not found" if value else None)


def check_row(raw: Any, plan: Mapping[str, Any], photos: list[Path], *, today: date) -> tuple[Registration | None, list[Issue]]:
    """One registration row: every problem at once, or the registration."""
    problems: list[tuple[str, str]] = []
    get = raw.get
    name, number = get("name"), get("id_number").upper()
    id_type = get("id_type") or "居民身份证"
    if not name:
        problems.append(("name", "required"))
    elif len(name) > 50:
        problems.append(("name", "at most 50 characters"))
    if id_type not in ID_TYPES:
        problems.append(("id_type", f"{id_type!r} is not a 证件类型 ({'、'.join(ID_TYPES)})"))
    elif id_type in _GB11643_TYPES:
        if p := id_number_problem(number, today=today):
            problems.append(("id_number", p))
    elif not re.fullmatch(r"[0-9A-Z]{5,20}", number):
        problems.append(("id_number", "a document number has 5–20 letters and digits"))
    gender = get("gender")
    if gender not in ("男", "女"):
        problems.append(("gender", "男 or 女"))
    elif id_type in _GB11643_TYPES and not problems and gender_of(number) != gender:
        problems.append(("gender", "does not agree with the ID number (its 17th digit is odd for men, even for women)"))
    occupation = get("occupation")
    offered = {o["code"]: o["levels"] for o in plan["occupations"]}
    level = 0
    if occupation not in offered:
        problems.append(("occupation", f"{occupation!r} is not offered in the {plan['year']} plan ({', '.join(offered)})"))
    try:
        level = domain.level(get("level"))
        if occupation in offered and level not in offered[occupation]:
            problems.append(("level", f"level {level} of {occupation} is not offered in the {plan['year']} plan"))
    except ValueError as exc:
        problems.append(("level", str(exc)))
    try:
        edu = E.education(get("education"))
    except ValueError as exc:
        edu = ""
        problems.append(("education", str(exc)))
    years = 0.0
    try:
        years = float(get("years"))
        if not 0 <= years <= 60:
            raise ValueError
        if id_type in _GB11643_TYPES and not id_number_problem(number, today=today):
            age = (today - date(int(number[6:10]), int(number[10:12]), int(number[12:14]))).days / 365.25
            if years > max(age - 14, 0):
                problems.append(("years", f"{years:g} years of work is more than the applicant's age allows"))
    except ValueError:
        problems.append(("years", "a number of years from 0 to 60"))
    phone = get("phone")
    if phone and (p := phone_problem(phone)):
        problems.append(("phone", p))
    for field, limit in (("ethnicity", 20), ("work_unit", 100), ("declared", 200), ("code", 30), ("prior_certificate", 30)):
        if len(get(field)) > limit:
            problems.append((field, f"at most {limit} characters"))
    cert_level, cert_issued = None, None
    if get("prior_certificate") or get("prior_level"):
        if not get("prior_certificate"):
            problems.append(("prior_certificate", "a prior level is given without the certificate's number"))
        try:
            cert_level = domain.level(get("prior_level"))
        except ValueError as exc:
            problems.append(("prior_level", str(exc) if get("prior_level") else "the prior certificate's level is required"))
        if get("prior_issued"):
            try:
                cert_issued = parse_date(get("prior_issued"))
                if cert_issued > today:
                    problems.append(("prior_issued", "the certificate's issue date is in the future"))
            except ValueError as exc:
                problems.append(("prior_issued", str(exc)))
    parts: dict[str, str] = {}
    for part in PARTS:
        value = get(part)
        applies = part in ("theory", "skill") or level in REVIEW_LEVELS
        if not applies:
            if value:
                problems.append((part, f"level {level} has no {PARTS[part]}; leave it empty"))
            continue
        value = value or "新考"
        if value not in ATTEMPTS:
            problems.append((part, f"{value!r} is not one of {'/'.join(ATTEMPTS)}"))
        parts[part] = value
    if parts and all(v == "免考" for v in parts.values()):
        problems.append(("theory", "every part is 免考: there is nothing to sit"))
    photo, photo_problem = _photo(get("photo"), number, photos)
    if photo_problem:
        problems.append(("photo", photo_problem))
    issues = [Issue(raw.file, raw.location, raw.column(f), m) for f, m in problems]
    if issues:
        return None, issues
    doc = {"name": name, "id_type": id_type, "id_number": number, "gender": gender, "ethnicity": get("ethnicity"),
           "phone": phone, "work_unit": get("work_unit"), "education": edu, "prior_certificate": get("prior_certificate")}  # fmt: skip
    facts = E.Facts(occupation, level, years, date.fromisoformat(plan["window"]["close"]), cert_level,
                    get("prior_occupation"), cert_issued, edu, get("declared"))  # fmt: skip
    return Registration(raw.location, {f: raw.column(f) for f in ("id_number", "code")}, doc, get("code"), occupation, level, parts, facts, photo), []

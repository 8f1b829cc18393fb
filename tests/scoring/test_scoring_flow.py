"""Scoring end to end on a real sitting: the examiner's sealed marking key, objective responses scored
on import (hand-computed), the skill panels' score sheets, results, five working days of publicity
with an objection, release, certificates from the released passes, and the same through the CLI.

The sitting (tests/scoring/conftest.py): form A of the sealed-package tests — 4 判断, 8 单选 (4
options), 4 多选 (5 options), 20 points, options shuffled — and six candidates, the sixth 免考 in
theory, two skill stations of three. Every refusal is checked to leave the bank exactly as it was.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from examvault.assembly.forms import permutation
from examvault.assembly.models import PaperItem
from examvault.assembly.service import opened_entries, paper_by_ref
from examvault.crypto.records import open_fields, row_of
from examvault.crypto.signing import SigningKey
from examvault.errors import ConflictError, PermissionDenied, ValidationError
from examvault.export import package as fmt
from examvault.export.package import PackageRejected
from examvault.export.recipient import load_identities
from examvault.itembank.domain import OPTION_LETTERS
from examvault.registration.attendance import record
from examvault.registration.certificates import issue_certificates
from examvault.registration.models import Candidate, Certificate
from examvault.registration.service import create_session
from examvault.scoring import calendar
from examvault.scoring import results as results_module
from examvault.scoring.keys import current_key
from examvault.scoring.models import (
    SCORED_RESPONSE,
    MarkingKey,
    Objection,
    PartScore,
    Publicity,
    Result,
    ScoredResponse,
)
from examvault.scoring.parts import import_part_scores
from examvault.scoring.responses import import_responses
from examvault.scoring.results import (
    combine,
    compute,
    object_,
    publicize,
    release,
    resolve_objection,
    show,
)
from tests.conftest import OCC, snapshot
from tests.scoring.conftest import EXAM_DAY, PANELS, SESSION, Ran, Scoring, at, run_cli

LAYOUT = ["判断"] * 4 + ["单选"] * 8 + ["多选"] * 4
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in "ABCDE"}


# ---------------------------------------------------------------- answers, built from the key


def _flip(mark: str) -> str:
    return "×" if mark == "√" else "√"


def _other(letter: str) -> str:
    return next(x for x in "ABCD" if x != letter)


def all_right(items: list[dict[str, Any]]) -> list[str]:
    return [str(i["answer"]) for i in items]


def sixty(items: list[dict[str, Any]]) -> list[str]:
    """判断 and 单选 right, every 多选 left blank: 4 + 8 = 12 of 20 → 60.0."""
    return [str(i["answer"]) if i["type"] != "多选" else "" for i in items]


def mixed(items: list[dict[str, Any]]) -> tuple[list[str], list[float]]:
    """Some right (in other notations), some wrong, some omitted, a 多选 partly right; and the points by hand.

    判断 right, wrong, omitted, right as 对/错 → 1 0 0 1
    单选 right, right in lower case, right full-width, wrong, wrong, omitted, right, only a space → 1 1 1 0 0 0 1 0
    多选 right reversed with commas, a proper subset (partly right: 0 under all-or-nothing),
         a superset (one letter too many), omitted → 2 0 0 0
    8 of 20 points.
    """
    j = [str(i["answer"]) for i in items[:4]]
    s = [str(i["answer"]) for i in items[4:12]]
    m = [str(i["answer"]) for i in items[12:]]
    assert all(len(k) >= 2 for k in m) and all(len(k) < 5 for k in m[:3])
    answers = [
        j[0], _flip(j[1]), "", "对" if j[3] == "√" else "错",
        s[0], s[1].lower(), FULL_WIDTH[s[2]], _other(s[3]), _other(s[4]), "", s[6], " ",
        ",".join(reversed(m[0])), m[1][0], m[2] + next(x for x in "ABCDE" if x not in m[2]), "",
    ]  # fmt: skip
    points = [1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0]
    return answers, [float(p) for p in points]


def responses_of(sc: Scoring, answers: dict[int, list[str]], form: str = "A") -> list[list[str]]:
    return [[sc.tickets[n], form, *a] for n, a in answers.items()]


def panel(sc: Scoring, n: int) -> tuple[str, ...]:
    return PANELS[sc.station[sc.tickets[n]]]


def sheet_rows(sc: Scoring, scores: dict[int, list[float]]) -> list[list[Any]]:
    return [
        [sc.tickets[n], ex, f"{x:.1f}"]
        for n, xs in scores.items()
        for ex, x in zip(panel(sc, n), xs, strict=False)
    ]


# The results sitting: what each person answered and scored, and what the results must be.
SKILL = {
    1: [59.9, 60.0, 60.1],
    2: [59.9, 59.9, 59.9],
    3: [90.0, 90.0, 90.0],
    5: [95.0, 95.0, 95.0],
    6: [70.0, 72.0, 74.0],
}
EXPECTED = {  # person → (theory, skill, passed, status)
    1: (60.0, 60.0, True, "scored"),  # exactly 60 in each part passes
    2: (100.0, 59.9, False, "scored"),  # 59.9 in one part fails
    3: (40.0, 90.0, False, "scored"),  # 8 of 20 objective points, scaled to 100
    4: (None, None, False, "absent"),  # absent from both parts
    5: (None, 95.0, False, "absent"),  # refused at the theory door (45 minutes late)
    6: (None, 72.0, True, "scored"),  # theory 免考: carried, does not block
}


def theory_answers(sc: Scoring) -> dict[int, list[str]]:
    items = sc.items()
    return {1: sixty(items), 2: all_right(items), 3: mixed(items)[0]}


def door(sc: Scoring) -> None:
    """Person 4 absent from both parts; person 5 refused at the theory door, sits the skill test."""
    for part in ("theory", "skill"):
        assert record(sc.admin, SESSION, sc.tickets[4], part, absent=True)["status"] == "absent"
    assert record(sc.admin, SESSION, sc.tickets[5], "theory", at=at(9, 45))["status"] == "refused"


def score_everything(sc: Scoring) -> dict[str, Any]:
    """The key, the door, the responses and the sheets of the results sitting; then compute."""
    sc.keyed()
    door(sc)
    import_responses(sc.admin, SESSION, sc.responses("答题卡.csv", responses_of(sc, theory_answers(sc))))
    import_part_scores(sc.admin, SESSION, sc.sheet("评分记录.csv", sheet_rows(sc, SKILL)), part="skill")
    return compute(sc.admin, SESSION)


def window_or_skip(day: date) -> calendar.Window:
    try:
        return calendar.publicity_window(day)
    except ValidationError as exc:
        pytest.skip(f"the publicity window from {day} runs past the installed Chinese calendar data: {exc}")


def refused(
    sc: Scoring, call: Callable[[], Any], exc: type[Exception] | tuple[type[Exception], ...], match: str
) -> str:
    """`call` raises `exc` matching `match`, and the bank is exactly as it was."""
    before = snapshot(sc.admin)
    with pytest.raises(exc, match=match) as info:
        call()
    assert snapshot(sc.admin) == before, match
    return str(info.value)


# ---------------------------------------------------------------- 1. the marking key


def _forge(sc: Scoring, genuine: Path, out: Path) -> Path:
    """The genuine key's package opened by its examiner and sealed again — with a key whose answers are
    all wrong, a new package id and a high version — under a signing key named like the institution's."""
    opened = fmt.open_package(genuine.read_bytes(), trusted=sc.s.trusted, now=datetime.now(UTC),
                              identities=load_identities(sc.s.examiner.identity_file))  # fmt: skip
    outer = {k: v for k, v in opened.outer.items() if k not in ("format", "issuer", "manifest_sha256")}
    outer |= {"package_id": str(uuid.uuid4()), "version": 99}
    manifest = {k: v for k, v in opened.manifest.items() if k not in ("format", "files")}
    manifest |= {"package_id": outer["package_id"], "version": 99}
    files = {n: bytes(d) for n, d in opened.files.items()}
    name = next(n for n in files if n.endswith("_key.json"))
    key = json.loads(files[name])
    for item in key["items"]:
        item["answer"] = "√" if item["type"] == "判断" else "A"
    files[name] = json.dumps(key, ensure_ascii=False).encode()
    with out.open("wb") as fh:
        fmt.seal(fh, issuer=SigningKey.generate(sc.s.trusted.name), outer=outer, manifest=manifest, files=files,
                 recipients=[sc.s.examiner.identity.recipient()])  # fmt: skip
    return out


def test_the_marking_key_is_imported_once_from_the_examiners_package_and_every_bad_package_is_refused(
    scoring: Scoring, tmp_path: Path
) -> None:
    sc = scoring
    v1, v2 = sc.seal_key(), sc.seal_key()
    assert v2["version"] == v1["version"] + 1
    paper_package = sc.s.seal()  # the printer's paper package, sealed the same way
    create_session(
        sc.admin, "OTHER-1", occupation=OCC, level=3, exam_date=EXAM_DAY, papers=[str(sc.s.other["code"])]
    )
    create_session(sc.admin, "OTHER-2", occupation=OCC, level=3, exam_date=EXAM_DAY)
    tampered = tmp_path / "tampered.evp"
    data = bytearray(Path(v2["file"]).read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    forged = _forge(sc, Path(v2["file"]), tmp_path / "forged.evp")
    not_before = sc.s.now - timedelta(hours=1)

    refused(
        sc,
        lambda: sc.import_key(v2["file"], bank=sc.s.bank("cust")),
        PermissionDenied,
        "may not do scoring.key",
    )
    refused(
        sc,
        lambda: sc.import_key(v2["file"], identity=sc.s.printer.identity_file),
        PackageRejected,
        "addressed to examiner-1",
    )
    refused(sc, lambda: sc.import_key(paper_package["file"], identity=sc.s.printer.identity_file), ValidationError,
            "is a paper package, not a marking key")  # fmt: skip
    refused(sc, lambda: sc.import_key(v2["file"], session_code="OTHER-1"), ConflictError,
            f"is the key of {sc.paper}; session OTHER-1 uses {sc.s.other['code']}")  # fmt: skip
    refused(
        sc,
        lambda: sc.import_key(v2["file"], session_code="OTHER-2"),
        ConflictError,
        "session OTHER-2 uses no paper",
    )
    refused(sc, lambda: sc.import_key(tampered), PackageRejected, "altered")
    refused(sc, lambda: sc.import_key(forged), PackageRejected, "not by the trusted key")
    refused(
        sc,
        lambda: sc.import_key(v2["file"], now=not_before - timedelta(seconds=1)),
        PackageRejected,
        "may not be opened before",
    )
    refused(
        sc, lambda: sc.import_key(v2["file"], now=sc.s.now + timedelta(days=8)), PackageRejected, "expired"
    )
    assert sc.rows(MarkingKey) == []

    r = sc.import_key(v2["file"])
    assert r == {
        "paper": sc.paper,
        "form": "A",
        "version": v2["version"],
        "items": 16,
        "package": v2["package"],
    }
    (row,) = sc.rows(MarkingKey)
    assert (row.paper, row.form, row.version, row.items, row.total_points, row.imported_by) == (
        sc.paper, "A", v2["version"], 16, 20.0, "kaowu")  # fmt: skip
    assert b'"answer"' not in row.key and b"items" not in row.key  # sealed, not the key in plaintext
    with sc.admin.transaction() as session:
        stored = current_key(session, sc.admin.keyring(session), sc.paper)[1]
    assert stored == sc.open_key(v2["file"])  # the key as packaged

    refused(
        sc,
        lambda: sc.import_key(v2["file"]),
        ConflictError,
        f"package {v2['package']} was already imported: a replay",
    )
    refused(sc, lambda: sc.import_key(v1["file"]), ConflictError,
            f"version {v1['version']} of {sc.paper}'s key, but version {v2['version']} is on file: an older key is refused")  # fmt: skip
    shutil.copy(v2["file"], tmp_path / "renamed.evp")  # a replay under another file name is still a replay
    refused(sc, lambda: sc.import_key(tmp_path / "renamed.evp"), ConflictError, "a replay")

    v3 = sc.seal_key()
    assert sc.import_key(v3["file"])["version"] == v3["version"] > v2["version"]
    with sc.admin.transaction() as session:
        assert current_key(session, sc.admin.keyring(session), sc.paper)[0].version == v3["version"]


# ---------------------------------------------------------------- 2. responses


def _bank_letters(letters: str, seed: int | None, n: int) -> str:
    """Form letters → the bank's: display slot j shows bank option permutation(seed, n)[j]."""
    perm = permutation(seed, n)
    return "".join(sorted(OPTION_LETTERS[perm[OPTION_LETTERS.index(c)]] for c in letters))


def test_responses_are_scored_on_import_as_computed_by_hand_and_mapped_back_to_the_banks_letters(
    scoring: Scoring,
) -> None:
    sc = scoring
    sc.keyed()
    items = sc.items()
    assert [i["type"] for i in items] == LAYOUT and [i["options"] for i in items[4:]] == [4] * 8 + [5] * 4
    answers, points = mixed(items)
    assert sum(points) == 8.0
    path = sc.responses("读卡.csv", responses_of(sc, {1: answers, 2: all_right(items), 3: sixty(items)}))
    r = import_responses(sc.admin, SESSION, path, source="cbt")
    assert (r["candidates"], r["forms"]) == (3, {sc.paper: 3}) and r["mean"] == pytest.approx(
        (8 + 20 + 12) / 3
    )

    stored = {x.candidate_id: x for x in sc.rows(ScoredResponse)}
    ids = {c.ticket: c.id for c in sc.rows(Candidate)}
    assert {stored[ids[sc.tickets[n]]].objective for n in (1, 2, 3)} == {8.0, 20.0, 12.0}
    mine = stored[ids[sc.tickets[1]]]
    assert (mine.objective, mine.paper, mine.source, mine.imported_by) == (8.0, sc.paper, "cbt", "kaowu")
    assert b"answers" not in mine.detail and b"bank_choices" not in mine.detail  # sealed

    cust = sc.s.bank("cust")
    with cust.transaction() as session:
        paper = paper_by_ref(session, sc.paper)
        bank_answer = {
            p: c.answer for p, c in opened_entries(cust, session, paper, ("options", "answer")).items()
        }
        seeds = dict(
            session.execute(
                select(PaperItem.position, PaperItem.option_seed).where(PaperItem.paper_id == paper.id)
            ).all()
        )
    with sc.admin.transaction() as session:
        detail = json.loads(
            open_fields(sc.admin.keyring(session), SCORED_RESPONSE, row_of(SCORED_RESPONSE, mine))["detail"]
        )
    assert detail["points"] == points
    assert (
        detail["answers"] == [a.strip() for a in answers]
        and detail["numbers"] == list(range(1, 17))
        and detail["paper"] == sc.paper
    )
    # The form's key mapped through the shuffle is the bank's own key: the mapping below is right…
    choice = [i for i in items if i["type"] != "判断"]
    for i in choice:
        assert _bank_letters(i["answer"], seeds[i["position"]], i["options"]) == "".join(
            sorted(bank_answer[i["position"]])
        )
    # …and the form is shuffled (otherwise the mapping would be the identity and prove nothing)
    assert any(i["answer"] != bank_answer[i["position"]] for i in choice), (
        "the sealable blueprint does not shuffle options"
    )
    given = [
        a.replace(",", "").strip().upper().translate({ord(v): k for k, v in FULL_WIDTH.items()})
        for a in answers
    ]
    expected = [
        "" if i["type"] == "判断" else _bank_letters(g, seeds[i["position"]], i["options"])
        for i, g in zip(items, given, strict=True)
    ]
    assert detail["bank_choices"] == expected
    right = [n for n, p in enumerate(points) if p and items[n]["type"] != "判断"]
    assert all(detail["bank_choices"][n] == "".join(sorted(bank_answer[items[n]["position"]])) for n in right)


def test_a_bad_responses_file_is_refused_whole_naming_row_and_column(scoring: Scoring) -> None:
    sc = scoring
    sc.keyed()
    items, t = sc.items(), sc.tickets
    ok = sixty(items)

    def at_item(number: int, text: str) -> list[str]:
        a = list(ok)
        a[number - 1] = text
        return a

    first = [t[1], "A", *ok]  # row 2 of every file: a good row, which is not stored either
    cases = [
        ([t[2].replace(t[2][-3:], "999"), "A", *ok], "A (准考证号)", "no ticket"),
        ([t[2], "B", *ok], "B (卷别)", "form 'B' is not one of this session's (A)"),
        ([t[2], "A", *at_item(5, "E")], "G (5)", "names a letter beyond this item's options A–D"),
        ([t[2], "A", *at_item(6, "AB")], "H (6)", "names 2 options; a 单选 takes exactly one"),
        ([t[2], "A", *at_item(1, "Y")], "C (1)", "a 判断 answer is √ or ×"),
        ([t[2], "A", *at_item(13, "AA")], "O (13)", "names an option twice"),
        ([t[2], "A", *at_item(14, "ABF")], "P (14)", "names a letter beyond this item's options A–E"),
        ([t[2], "A", *at_item(7, "甲乙")], "I (7)", "holds a character that is not an option letter"),
        ([t[1], "A", *ok], "A (准考证号)", "the candidate appears twice (first on row 2)"),
        ([t[6], "A", *ok], "A (准考证号)", "this candidate does not sit the theory part in this session"),
        ([t[2], "A", *ok, "A"], "S (17)", "form A has 16 objective items; column 17 is beyond them"),
    ]
    for n, (row, column, message) in enumerate(cases):
        path = sc.responses(f"bad{n}.csv", [first, row], width=17)
        text = refused(
            sc, lambda p=path: import_responses(sc.admin, SESSION, p), ValidationError, "nothing was imported"
        )
        assert f"bad{n}.csv, row 3, column {column}: {message}" in text, text
        assert "row 2" not in text.replace("first on row 2", ""), text  # the good row is not blamed
        assert "甲乙" not in text  # a response is sealed content: never quoted
    assert sc.rows(ScoredResponse) == []

    import_responses(sc.admin, SESSION, sc.responses("good.csv", [first]))
    path = sc.responses("again.csv", [[t[2], "A", *ok], [t[1], "A", *all_right(items)]])
    text = refused(
        sc, lambda: import_responses(sc.admin, SESSION, path), ValidationError, "nothing was imported"
    )
    assert "again.csv, row 3, column A (准考证号): this candidate's answers are already scored" in text
    (only,) = sc.rows(ScoredResponse)
    assert only.objective == 12.0  # the registered score never changes


# ---------------------------------------------------------------- 3. part scores


def _stations(sc: Scoring) -> tuple[list[int], list[int]]:
    one = [n for n in range(1, 7) if sc.station[sc.tickets[n]] == "实操01"]
    two = [n for n in range(1, 7) if sc.station[sc.tickets[n]] == "实操02"]
    return one, two


def _panels_sheet(sc: Scoring) -> list[list[str]]:
    """实操01: a scored by three, b by four (an even panel), c spread 21 points; 实操02: three each."""
    t, ((a, b, c), two) = sc.tickets, _stations(sc)
    return [[t[a], "KP1", "70"], [t[a], "KP2", "80"], [t[a], "KP3", "75.5"],
            *[[t[b], ex, "80"] for ex in ("KP1", "KP2", "KP3", "KP4")],
            [t[c], "KP1", "50"], [t[c], "KP2", "60"], [t[c], "KP3", "71"],
            *[[t[n], ex, "66.6"] for n in two for ex in PANELS["实操02"]]]  # fmt: skip


def test_skill_sheets_take_only_examiners_on_duty_in_the_candidates_station_and_scores_to_one_decimal(
    scoring: Scoring,
) -> None:
    sc = scoring
    t, ((a, _b, _c), two) = sc.tickets, _stations(sc)
    first = [t[a], "KP1", "70"]
    cases = [
        (
            [t[a], "KP6", "70"],
            "B (考评员)",
            "'KP6' is not an examiner on duty in this candidate's room",
        ),  # on duty in 实操02
        ([t[two[0]], "KP1", "70"], "B (考评员)", "'KP1' is not an examiner on duty in this candidate's room"),
        (
            [t[a], "KP9", "70"],
            "B (考评员)",
            "'KP9' is not an examiner on duty",
        ),  # a registered examiner, not on duty
        ([t[a], "KP2", "100.5"], "C (分数)", "a score from 0 to 100, to one decimal"),
        ([t[a], "KP2", "八十"], "C (分数)", "a score from 0 to 100, to one decimal"),
        ([t[a], "KP2", "85.25"], "C (分数)", "a score from 0 to 100, to one decimal"),
        ([t[a], "KP2", "-1"], "C (分数)", "a score from 0 to 100, to one decimal"),
        ([t[a], "KP2", "nan"], "C (分数)", "a score from 0 to 100, to one decimal"),
        ([t[a], "KP1", "75"], "B (考评员)", "repeats row 2"),
        (["270019999999", "KP2", "70"], "A (准考证号)", "no ticket '270019999999'"),
    ]
    for n, (row, column, message) in enumerate(cases):
        path = sc.sheet(f"sheet{n}.csv", [first, row])
        text = refused(
            sc,
            lambda p=path: import_part_scores(sc.admin, SESSION, p, part="skill"),
            ValidationError,
            "nothing was imported",
        )
        assert f"sheet{n}.csv, row 3, column {column}: {message}" in text, text
        assert "row 2" not in text.replace("repeats row 2", ""), text
    refused(
        sc,
        lambda: import_part_scores(sc.admin, SESSION, sc.sheet("x.csv", [first]), part="theory"),
        ValidationError,
        "--part",
    )
    assert sc.rows(PartScore) == []

    r = import_part_scores(sc.admin, SESSION, sc.sheet("评分记录.csv", _panels_sheet(sc)), part="skill")
    assert (r["scores"], r["candidates"]) == (19, 6)
    ids = {x.id: x.ticket for x in sc.rows(Candidate)}
    assert sorted((p.examiner, p.score, p.recorded_by) for p in sc.rows(PartScore) if ids[p.candidate_id] == t[a]) == [
        ("KP1", 70.0, "kaowu"), ("KP2", 80.0, "kaowu"), ("KP3", 75.5, "kaowu")]  # fmt: skip
    assert combine([70.0, 80.0, 75.5]) == (75.1, "")  # the mean 75.17, kept to one decimal rounded down
    assert (
        combine([80.0] * 4)[0] is None
        and combine([80.0] * 1)[0] is None
        and combine([50.0, 60.0, 71.0])[0] is None
    )
    assert combine([50.0, 60.0, 70.0]) == (60.0, "")  # a spread of exactly 20 is averaged
    text = refused(sc, lambda: import_part_scores(sc.admin, SESSION, sc.sheet("again.csv", [[t[a], "KP1", "90"]]), part="skill"),
                   ValidationError, "already registered")  # fmt: skip
    assert "again.csv, row 2, column B (考评员)" in text
    assert len(sc.rows(PartScore)) == 19


def test_compute_refuses_an_even_panel_and_a_wide_spread_naming_the_tickets(scoring: Scoring) -> None:
    sc = scoring
    t, ((a, b, c), two) = sc.tickets, _stations(sc)
    sc.keyed()
    import_responses(
        sc.admin, SESSION, sc.responses("读卡.csv", [[t[n], "A", *sixty(sc.items())] for n in range(1, 6)])
    )
    import_part_scores(sc.admin, SESSION, sc.sheet("评分记录.csv", _panels_sheet(sc)), part="skill")
    text = refused(sc, lambda: compute(sc.admin, SESSION), ConflictError, "cannot be computed yet")
    assert f"{t[b]} skill: 4 examiner score(s); a panel is an odd number, at least 3" in text
    assert f"{t[c]} skill: examiners' scores spread 21 points (> 20): the chief examiner reviews them" in text
    assert t[a] not in text and not any(t[n] in text for n in two)
    assert sc.rows(Result) == []
    # a fifth examiner makes the even panel odd again; the spread still goes to the chief examiner
    import_part_scores(sc.admin, SESSION, sc.sheet("fifth.csv", [[t[b], "KP5", "82"]]), part="skill")
    text = refused(sc, lambda: compute(sc.admin, SESSION), ConflictError, "cannot be computed yet")
    assert t[b] not in text and t[c] in text

    # the chief examiner reviews the wide spread; the reviewed score counts
    from examvault.scoring.parts import review_panel
    from examvault.staff.service import add_staff, assign
    from tests.staff.conftest import card
    from tests.staff.conftest import id_number as staff_id

    add_staff(sc.admin, code="ZK1", name="主考ZK1", id_number=staff_id(881, "19680301"), roles="主考", credential=card("ZK-0001"))
    refused(sc, lambda: review_panel(sc.admin, SESSION, t[c], part="skill", score=75, chief="ZK1", reason="复核评分记录"),
            ValidationError, "not the chief examiner")  # fmt: skip
    assign(sc.admin, SESSION, "chief_examiner", ["ZK1"])
    refused(sc, lambda: review_panel(sc.admin, SESSION, t[a], part="skill", score=75, chief="ZK1", reason="复核"), ConflictError, "need no review")
    refused(sc, lambda: review_panel(sc.admin, SESSION, t[c], part="skill", score=75.25, chief="ZK1", reason="复核"), ValidationError, "one decimal")
    r = review_panel(sc.admin, SESSION, t[c], part="skill", score=75, chief="ZK1", reason="调阅操作录像，按评分细则复核")
    assert r["score"] == 75 and len(r["panel"]) == 3
    refused(sc, lambda: review_panel(sc.admin, SESSION, t[c], part="skill", score=70, chief="ZK1", reason="再复核"), ConflictError, "already")
    compute(sc.admin, SESSION)
    row = next(x for x in show(sc.admin, SESSION)["results"] if x["ticket"] == t[c])
    assert row["skill"] == 75.0 and "skill 主考复核" in row["note"]


# ---------------------------------------------------------------- 4. results


def test_results_pass_at_exactly_sixty_in_every_part_sat_absent_candidates_fail_and_exemptions_carry(
    scoring: Scoring,
) -> None:
    sc = scoring
    r = score_everything(sc)
    assert r == {"session": SESSION, "candidates": 6, "passed": 2, "absent": 2}
    shown = show(sc.admin, SESSION)
    assert (shown["stage"], shown["window"]) == ("computed", None)
    rows = {x["ticket"]: x for x in shown["results"]}
    assert set(rows) == set(sc.tickets.values())
    for n, (theory, skill, passed, status) in EXPECTED.items():
        x = rows[sc.tickets[n]]
        assert {"ticket", "theory", "skill", "passed", "status"} <= set(x)
        assert (x["theory"], x["skill"], x["passed"], x["status"]) == (
            theory,
            skill,
            passed,
            "computed" if status == "scored" else status,
        ), n
    assert rows[sc.tickets[6]]["note"] == "theory 免考"
    # computing again before publicity gives the same results
    before = {x.candidate_id: (x.parts, x.passed, x.status) for x in sc.rows(Result)}
    compute(sc.admin, SESSION)
    assert {x.candidate_id: (x.parts, x.passed, x.status) for x in sc.rows(Result)} == before
    refused(sc, lambda: compute(sc.s.bank("cust"), SESSION), PermissionDenied, "results.compute")


# ---------------------------------------------------------------- 5. publicity and release


def test_publicity_runs_five_working_days_takes_objections_in_the_window_and_release_needs_the_same_results(
    scoring: Scoring, today: date
) -> None:
    sc = scoring
    w = window_or_skip(today)
    score_everything(sc)
    refused(sc, lambda: release(sc.admin, SESSION, today=w.release_on), ConflictError, "were not publicised")
    refused(
        sc,
        lambda: object_(sc.admin, SESSION, sc.tickets[2], "复核", on=today),
        ConflictError,
        "not opened yet",
    )
    refused(
        sc,
        lambda: publicize(sc.admin, SESSION, start=today - timedelta(days=1)),
        ValidationError,
        "cannot start in the past",
    )

    p = publicize(sc.admin, SESSION)
    assert (p["opens"], p["last_day"], p["release_on"], p["candidates"]) == (
        w.opens.isoformat(), w.last_day.isoformat(), w.release_on.isoformat(), 6)  # fmt: skip
    assert (
        len(calendar.working_days_after(w.opens, 4)) == 4
        and calendar.working_days_after(w.opens, 4)[-1] == w.last_day
    )
    shown = show(sc.admin, SESSION)
    assert shown["stage"] == "publicized" and shown["window"]["release_on"] == w.release_on.isoformat()
    refused(sc, lambda: publicize(sc.admin, SESSION), ConflictError, "already publicised")
    refused(sc, lambda: compute(sc.admin, SESSION), ConflictError, "are publicised; they are fixed")
    refused(sc, lambda: release(sc.admin, SESSION, today=w.last_day), ConflictError,
            f"publicised until {w.last_day} .*release from {w.release_on}")  # fmt: skip
    refused(sc, lambda: object_(sc.admin, SESSION, sc.tickets[2], "复核", on=w.opens - timedelta(days=1)), ConflictError,
            f"{w.opens} to {w.last_day}.*outside")  # fmt: skip
    refused(
        sc,
        lambda: object_(sc.admin, SESSION, sc.tickets[2], "复核", on=w.release_on),
        ConflictError,
        "outside",
    )
    refused(
        sc, lambda: object_(sc.admin, SESSION, sc.tickets[2], "  ", on=w.opens), ValidationError, "--reason"
    )

    o = object_(sc.admin, SESSION, sc.tickets[2], "对操作技能评分有异议，申请复核", on=w.last_day)
    assert (o["ticket"], o["raised_on"]) == (sc.tickets[2], w.last_day.isoformat())
    (objection,) = sc.rows(Objection)
    assert (objection.id, objection.resolved_at) == (o["id"], None)
    refused(
        sc,
        lambda: release(sc.admin, SESSION, today=w.release_on),
        ConflictError,
        f"objection\\(s\\) {o['id']} are not settled",
    )
    resolve_objection(sc.admin, o["id"], "复核后维持原成绩")
    refused(sc, lambda: resolve_objection(sc.admin, o["id"], "again"), ConflictError, "was settled")

    # results changed behind the bank's back: release refuses; put back, it goes ahead
    ids = {c.ticket: c.id for c in sc.rows(Candidate)}
    with sc.admin.engine.begin() as conn:
        conn.execute(update(Result).where(Result.candidate_id == ids[sc.tickets[2]]).values(passed=True))
    refused(
        sc,
        lambda: release(sc.admin, SESSION, today=w.release_on),
        ConflictError,
        "differ from those publicised",
    )
    with sc.admin.engine.begin() as conn:
        conn.execute(update(Result).where(Result.candidate_id == ids[sc.tickets[2]]).values(passed=False))

    r = release(sc.admin, SESSION, today=w.release_on)
    assert r == {"session": SESSION, "released_on": w.release_on.isoformat(), "passed": 2}
    (pub,) = sc.rows(Publicity)
    assert pub.released_by == "kaowu" and pub.released_at is not None
    shown = show(sc.admin, SESSION)
    assert shown["stage"] == "released"
    assert {x["ticket"]: x["status"] for x in shown["results"]} == {
        sc.tickets[n]: ("released" if e[3] == "scored" else e[3]) for n, e in EXPECTED.items()}  # fmt: skip
    refused(sc, lambda: release(sc.admin, SESSION, today=w.release_on), ConflictError, "were released on")


# ---------------------------------------------------------------- 6. certificates


def _release(sc: Scoring, today: date) -> None:
    w = window_or_skip(today)
    publicize(sc.admin, SESSION)
    release(sc.admin, SESSION, today=w.release_on)


def test_certificates_go_to_the_released_passes_only_once(scoring: Scoring, today: date) -> None:
    sc = scoring
    window_or_skip(today)
    score_everything(sc)
    refused(sc, lambda: issue_certificates(sc.admin, SESSION), ConflictError, "no released results")
    publicize(sc.admin, SESSION)
    refused(sc, lambda: issue_certificates(sc.admin, SESSION), ConflictError, "no released results")
    release(sc.admin, SESSION, today=calendar.publicity_window(today).release_on)

    issued = issue_certificates(sc.admin, SESSION)
    codes = {c.id: c.code for c in sc.rows(Candidate)}
    ticket_of = {c.code: c.ticket for c in sc.rows(Candidate)}
    assert sorted(ticket_of[x["candidate"]] for x in issued) == sorted(sc.tickets[n] for n in (1, 6))
    certs = sc.rows(Certificate)
    assert len(certs) == 2 and {codes[c.candidate_id] for c in certs} == {x["candidate"] for x in issued}
    for c in certs:
        assert (c.level, c.status, len(c.number)) == (3, "issued", 22)
        assert c.number[15] == "3"  # the level digit
        assert c.number.startswith(f"S000136360101{today.year % 100:02d}3")
    assert issue_certificates(sc.admin, SESSION) == []
    assert len(sc.rows(Certificate)) == 2


def test_a_certificate_is_not_dated_before_its_results_were_released(scoring: Scoring, today: date) -> None:
    sc = scoring
    window_or_skip(today)
    score_everything(sc)
    _release(sc, today)
    # released today (released_at is now): a certificate dated on the exam day predates the publicity itself
    refused(
        sc,
        lambda: issue_certificates(sc.admin, SESSION, on=EXAM_DAY),
        (ConflictError, ValidationError),
        "releas",
    )


# ---------------------------------------------------------------- 7. the CLI


def test_the_cli_runs_scoring_from_key_to_release(
    scoring: Scoring, db_url: str, today: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = scoring
    w = window_or_skip(today)

    def run(*args: str, code: int = 0) -> Ran:
        return run_cli(db_url, "kaowu", *args, code=code)

    key = sc.key()
    identity = str(sc.s.examiner.identity_file)
    r = json.loads(
        run("key", "import", key["_file"], "--identity", identity, "--session", SESSION, "--json").stdout
    )
    assert (r["paper"], r["form"], r["items"]) == (sc.paper, "A", 16)
    p = run("key", "import", key["_file"], "--identity", identity, "--session", SESSION, code=5)
    assert p.stderr.startswith("error: ") and "a replay" in p.stderr

    door(sc)
    answers = theory_answers(sc)
    bad = responses_of(sc, answers)
    bad[1][2 + 4] = "E"  # item 5, a 4-option 单选, on the second data row
    p = run("responses", "import", SESSION, str(sc.responses("读卡-有误.csv", bad)), code=3)
    assert (
        p.stderr.startswith("error: ")
        and "读卡-有误.csv, row 3, column G (5): names a letter beyond" in p.stderr
    )
    assert "nothing was imported" in p.stderr
    r = json.loads(
        run(
            "responses", "import", SESSION, str(sc.responses("读卡.csv", responses_of(sc, answers))), "--json"
        ).stdout
    )
    assert (r["candidates"], r["forms"]) == (3, {sc.paper: 3})

    p = run(
        "scores", "import", SESSION, str(sc.sheet("评分-有误.csv", [[sc.tickets[1], "KP9", "60"]])), code=3
    )
    assert p.stderr.startswith("error: ") and "评分-有误.csv, row 2, column B (考评员)" in p.stderr
    p = run("scores", "import", SESSION, str(sc.sheet("评分.csv", sheet_rows(sc, SKILL))), "--part", "skill")
    assert "15 skill scores for 5 candidates registered" in p.stderr

    r = json.loads(run("results", "compute", SESSION, "--json").stdout)
    assert (r["candidates"], r["passed"], r["absent"]) == (6, 2, 2)
    shown = json.loads(run("results", "show", SESSION, "--json").stdout)
    assert {x["ticket"]: (x["theory"], x["skill"], x["passed"]) for x in shown} == {
        sc.tickets[n]: e[:3] for n, e in EXPECTED.items()}  # fmt: skip
    assert all({"ticket", "theory", "skill", "passed", "status"} <= set(x) for x in shown)
    p = run("results", "show", SESSION)
    assert "computed" in p.stderr and sc.tickets[1] in p.stdout and "合格" in p.stdout

    p = run("results", "publicize", SESSION)
    assert f"publicised {w.opens} to {w.last_day}; release from {w.release_on}" in p.stderr
    p = run("results", "release", SESSION, code=5)
    assert (
        p.stderr.startswith(f"error: the results are publicised until {w.last_day}")
        and str(w.release_on) in p.stderr
    )
    monkeypatch.setattr(results_module, "beijing_today", lambda: w.release_on)
    p = run("results", "release", SESSION)
    assert f"results released on {w.release_on}; 2 passed" in p.stderr
    assert {x["status"] for x in json.loads(run("results", "show", SESSION, "--json").stdout)} == {
        "released",
        "absent",
    }


def test_a_mean_just_under_the_pass_mark_is_not_rounded_up_to_a_pass() -> None:
    from examvault.scoring.results import PASS_MARK

    score, _ = combine([59.9, 60.0, 60.0])  # 59.967
    assert score == 59.9 and score < PASS_MARK

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from examvault.errors import PermissionDenied, UnlockError, ValidationError
from examvault.itembank.formats.fields import ITEM_FIELDS
from examvault.itembank.service import export_items, import_items, list_items, show_item
from tests.conftest import item_row, sample_items, snapshot, write_json

HEADERS = [v[0] for v in ITEM_FIELDS.values()]


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADERS)
        w.writeheader()
        w.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append([r.get(h, "") for h in HEADERS])
    wb.save(path)
    return path


def _file_bytes(bank) -> bytes:
    db = bank.engine.url.database
    if bank.engine.dialect.name != "sqlite" or not db:
        return b""
    return b"".join(Path(db + sfx).read_bytes() for sfx in ("", "-wal") if Path(db + sfx).exists())


def assert_refused(bank, path: Path, *expected: str, **kw) -> ValidationError:
    before, raw = snapshot(bank), _file_bytes(bank)
    with pytest.raises(ValidationError) as exc:
        import_items(bank, path, **kw)
    message = str(exc.value)
    for text in expected:
        assert text in message, message
    assert "nothing was imported" in message
    assert snapshot(bank) == before
    assert _file_bytes(bank) == raw
    return exc.value


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_import_each_tabular_format(make_bank, tmp_path: Path, fmt: str) -> None:
    bank = make_bank("cust")
    writer = {"json": write_json, "csv": write_csv, "xlsx": write_xlsx}[fmt]
    report = import_items(bank, writer(tmp_path / f"items.{fmt}", sample_items()))
    assert report.imported == 5
    assert report.by_type == {"单选": 1, "判断": 1, "多选": 1, "填空": 1, "简答": 1}
    rows = {r["type"]: r for r in list_items(bank)}
    assert rows["单选"]["point_code"] == "B-A-001" and rows["单选"]["points"] == 0.5
    assert rows["单选"]["code"] == "6-31-01-03-L3-00001"
    assert all(r["status"] == "draft" for r in rows.values())
    multi = show_item(bank, rows["多选"]["code"])["content"]
    assert multi["answer"] == "ABE" and multi["options"]["E"] == "欠压保护"
    assert show_item(bank, rows["填空"]["code"])["content"]["answer"] == "36V/36伏"
    assert show_item(bank, rows["判断"]["code"])["content"]["answer"] == "√"


def test_unknown_point_code(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    rows = sample_items() + [item_row(鉴定点代码="B-A-099", 题干="另一道题目（　）。")]
    assert_refused(bank, write_csv(tmp_path / "i.csv", rows), "i.csv, row 7, column D (鉴定点代码)",
                   "unknown assessment-point code 'B-A-099'")  # fmt: skip


def test_range_code_is_not_a_point(make_bank, tmp_path: Path) -> None:
    assert_refused(make_bank("cust"), write_json(tmp_path / "i.json", [item_row(鉴定点代码="B-A")]),
                   "i.json, item 1, column 鉴定点代码", "is a range")  # fmt: skip


def test_single_choice_answer_not_an_option(make_bank, tmp_path: Path) -> None:
    assert_refused(make_bank("cust"), write_xlsx(tmp_path / "i.xlsx", [item_row(答案="E")]),
                   "i.xlsx, row 2, column O (答案)", "the answer names an option the item does not have (it has A–D)")  # fmt: skip


def test_multiple_choice_with_one_key(make_bank, tmp_path: Path) -> None:
    assert_refused(make_bank("cust"), write_csv(tmp_path / "i.csv", [item_row(题型="多选", 答案="B")]),
                   "row 2, column O (答案)", "a 多选 needs at least 2 keys")  # fmt: skip


def test_missing_points(make_bank, tmp_path: Path) -> None:
    assert_refused(make_bank("cust"), write_csv(tmp_path / "i.csv", [item_row(), item_row(题干="别的题（　）。", 分值="")]),
                   "row 3, column Q (分值)", "分值 is missing")  # fmt: skip


@pytest.mark.parametrize("value", ["6", "0", "很难", "2.5"])
def test_bad_difficulty(make_bank, tmp_path: Path, value: str) -> None:
    assert_refused(make_bank("cust"), write_json(tmp_path / "i.json", [item_row(难度=value)]),
                   "item 1, column 难度", f"difficulty {value!r} is not 1..5")  # fmt: skip


def test_wrong_encoding(make_bank, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", sample_items(), encoding="gbk")
    assert_refused(make_bank("cust"), path, "gbk.csv, line 1", "not valid UTF-8", "--encoding gb18030")
    # …and the same file imports once the encoding is named
    assert import_items(make_bank("cust"), path, encoding="gb18030").imported == 5


@pytest.mark.parametrize("kind", ["garbage", "zip", "truncated"])
def test_broken_xlsx(make_bank, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "broken.xlsx"
    if kind == "garbage":
        path.write_bytes(b"this is not a workbook" * 20)
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "no workbook here")
    else:
        full = write_xlsx(tmp_path / "full.xlsx", sample_items()).read_bytes()
        path.write_bytes(full[: len(full) // 2])
    assert_refused(make_bank("cust"), path, "broken.xlsx", "not a readable xlsx workbook")


def test_broken_json_and_csv(make_bank, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"题干": "x",', "utf-8")
    assert_refused(make_bank("cust"), bad, "bad.json, line 1", "not valid JSON")
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(write_xlsx(tmp_path / "x.xlsx", sample_items()).read_bytes())
    assert_refused(make_bank("cust"), renamed, "renamed.csv")


def test_unknown_and_missing_columns(make_bank, tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("职业代码,等级,题干,题型,备注\n6-31-01-03,3,x,判断,y\n", "utf-8")
    assert_refused(make_bank("cust"), path, "column E (备注): unknown column '备注'")
    path.write_text("职业代码,等级,题干\n6-31-01-03,3,x\n", "utf-8")
    assert_refused(make_bank("cust"), path, "required column '题型' is missing")


def test_all_problems_are_reported_together(make_bank, tmp_path: Path) -> None:
    rows = [item_row(答案="Z"), item_row(题干="", 难度="9"), item_row(职业代码="9-99-99-99")]
    err = assert_refused(make_bank("cust"), write_json(tmp_path / "many.json", rows), "4 problems")
    assert {i.location for i in err.issues} == {"item 1", "item 2", "item 3"}


def test_subjective_rubric_must_add_up(make_bank, tmp_path: Path) -> None:
    row = sample_items()[4] | {"解析": "要点1（2分）：输入采样；要点2（2分）：程序执行。"}
    assert_refused(make_bank("cust"), write_json(tmp_path / "s.json", [row]), "评分要点 points add up to 4, but the item is worth 5")
    row = sample_items()[4] | {"解析": "没有分值的要点"}
    assert_refused(make_bank("cust"), write_json(tmp_path / "s.json", [row]), "needs 评分要点 with points")


def test_fill_in_blank_count_must_match(make_bank, tmp_path: Path) -> None:
    row = sample_items()[3] | {"答案": "36V|48V"}
    assert_refused(make_bank("cust"), write_json(tmp_path / "f.json", [row]), "the stem has 1 blanks (______) but the answer gives 2")


def test_duplicate_codes_and_existing_codes(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    rows = [item_row(题目编号="DG-1"), item_row(题目编号="DG-1", 题干="不同的题干（　）。")]
    assert_refused(bank, write_json(tmp_path / "d.json", rows), "item code 'DG-1' repeats item 1")
    import_items(bank, write_json(tmp_path / "ok.json", rows[:1]))
    assert_refused(bank, write_json(tmp_path / "again.json", rows[1:]), "'DG-1' is already in the bank")


def test_item_sets_all_or_none(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    parent = item_row(题目编号="SET-1", 题型="组合", 题干="某车间一台电动机启动后很快跳闸，请根据案例回答问题。", 答案="",
                      选项A="", 选项B="", 选项C="", 选项D="", 分值="", 难度="")  # fmt: skip
    child1 = item_row(母题编号="SET-1", 题干="跳闸最可能的原因是（　）。")
    child2 = item_row(母题编号="SET-1", 题型="判断", 题干="应立即再次合闸试车。", 答案="×", 选项A="", 选项B="", 选项C="", 选项D="")
    report = import_items(bank, write_json(tmp_path / "set.json", [child1, parent, child2]))
    assert report.imported == 3
    info = show_item(bank, "SET-1")
    assert info["points"] == 1.0 and len(info["children"]) == 2
    orphan = item_row(母题编号="NOPE", 题干="孤儿题（　）。")
    assert_refused(bank, write_json(tmp_path / "o.json", [orphan]), "母题编号 'NOPE' is not a 组合 set")


def test_dry_run_changes_nothing_but_reports(make_bank, tmp_path: Path) -> None:
    from examvault.accounts.service import list_audit

    bank = make_bank("cust")
    before = snapshot(bank)
    rows = sample_items() + [item_row(题干="三相异步电动机采用Y-△降压启动时，启动电流为直接启动时的（　）。")]
    report = import_items(bank, write_json(tmp_path / "d.json", rows), dry_run=True)
    assert report.dry_run and report.imported == 6
    assert [(p.kind, p.similarity >= 0.8) for p in report.duplicates] == [("near", True)]
    after = snapshot(bank)
    # Nothing changed but one audit event: the dry run read bank stems to compare them.
    assert {k: v for k, v in after.items() if k != "audit_events"} == {k: v for k, v in before.items() if k != "audit_events"}
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1
    with bank.transaction() as s:
        assert [e.action for e in list_audit(s, limit=1)] == ["item.import_dry_run"]


def test_duplicates_against_the_bank(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    import_items(bank, write_json(tmp_path / "a.json", sample_items()))
    again = [item_row(题干="三相异步电动机 采用 Y-△ 降压启动时,启动电流是直接启动时的(　)。")]
    report = import_items(bank, write_json(tmp_path / "b.json", again))
    assert [(p.b, p.kind) for p in report.duplicates] == [("6-31-01-03-L3-00001", "exact")]


def test_activate_on_import_requires_reviewer_and_is_audited(make_bank, tmp_path: Path) -> None:
    from examvault.accounts.service import list_audit

    bank = make_bank("cust")
    rows = [item_row(审核人="赵明"), item_row(题干="另一道题目（　）。")]
    with pytest.raises(PermissionDenied):
        import_items(make_bank("author1"), write_json(tmp_path / "a.json", rows), activate=True)
    report = import_items(bank, write_json(tmp_path / "a.json", rows), activate=True)
    assert report.activated == 1
    assert [r["status"] for r in list_items(bank)] == ["active", "draft"]
    with bank.transaction() as s:
        events = list_audit(s, action="item.activate")
        assert [(e.target_id, e.details["via"]) for e in events] == [(report.codes[0], "import --activate")]
    same = [item_row(题干="自审题（　）。", 出题人="赵明", 审核人="赵明")]
    assert_refused(bank, write_json(tmp_path / "s.json", same), "also the 出题人", activate=True)
    mine = [item_row(题干="自己导入自己审核（　）。", 审核人="李秀梅")]  # cust's display name
    assert_refused(bank, write_json(tmp_path / "m.json", mine), "is the person importing", activate=True)


def test_import_needs_unlock_and_role(make_bank, tmp_path: Path) -> None:
    path = write_json(tmp_path / "a.json", sample_items())
    bank = make_bank("cust", passphrase="wrong passphrase!")
    before = snapshot(bank)
    with pytest.raises(UnlockError):
        import_items(bank, path)
    assert snapshot(bank) == before
    with pytest.raises(PermissionDenied, match="reviewer"):
        import_items(make_bank("rev"), path)


def test_export_round_trips_through_import(make_bank, tmp_path: Path) -> None:
    bank = make_bank("cust")
    import_items(bank, write_json(tmp_path / "a.json", sample_items()))
    out = tmp_path / "export.xlsx"
    assert export_items(bank, out)["items"] == 5
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header == HEADERS
    stems = sorted(r[header.index("题干")] for r in ws.iter_rows(min_row=2, values_only=True))
    assert stems == sorted(r["题干"] for r in sample_items())
    with pytest.raises(PermissionDenied):
        export_items(make_bank("rev"), tmp_path / "no.xlsx")
    assert not (tmp_path / "no.xlsx").exists()


def test_duplicate_check_in_a_worker_process_reports_the_same(make_bank, tmp_path: Path, monkeypatch) -> None:
    import examvault.itembank.service as service

    rows = sample_items() + [item_row(题干="三相异步电动机采用Y-△降压启动时，启动电流为直接启动时的（　）。")]
    inline = import_items(make_bank("cust"), write_json(tmp_path / "a.json", rows), dry_run=True).duplicates
    monkeypatch.setattr(service, "_PARALLEL_DEDUPE_MIN", 1)
    forked = import_items(make_bank("cust"), write_json(tmp_path / "a.json", rows))
    assert forked.duplicates == inline and len(inline) == 1
    assert len(list_items(make_bank("cust"))) == 6  # and the bank's connection survived the fork


def test_messages_never_quote_item_content(make_bank, tmp_path: Path) -> None:
    marker = "答案内容标记QX7"
    rows = [item_row(题型="判断", 答案=marker, 选项A="", 选项B="", 选项C="", 选项D=""), item_row(答案=f"B{marker}")]
    err = assert_refused(make_bank("cust"), write_json(tmp_path / "m.json", rows), "a 判断 answer must be √ or ×",
                         "not an option letter")  # fmt: skip
    assert marker not in str(err)


def test_concurrent_imports_both_land(make_bank, tmp_path: Path) -> None:
    """Two custodians import at once: one waits for the other instead of failing."""
    import threading

    files = [write_json(tmp_path / f"c{n}.json", [item_row(题干=f"并发导入{n}号文件第{i}题（　）。") for i in range(30)]) for n in range(2)]
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        try:
            import_items(make_bank("cust"), path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    codes = [r["code"] for r in list_items(make_bank("cust"))]
    assert len(codes) == 60 and len(set(codes)) == 60

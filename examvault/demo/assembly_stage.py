"""Demo stage: blueprints, A/B forms for level 3, a level-2 paper with subjective
sections and an expert slot, approvals, re-derivation, and a deliberately impossible
blueprint with its diagnosis. Everything goes through the service functions."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

from examvault.assembly.service import (
    AssemblyInfeasible,
    approve_paper,
    assemble,
    check_blueprint,
    fill_expert_slot,
    import_blueprint,
    show_paper,
    verify_derivation,
)
from examvault.bank import Bank
from examvault.itembank.service import import_items, transition

# The level-4 blueprint is stored and left for the web console walk-through (README): its paper is not assembled here.
BLUEPRINTS = ("blueprint_L3.yaml", "blueprint_L2.yaml", "blueprint_L4.yaml", "blueprint_impossible.yaml")

_EXPERT_ITEMS = [
    {
        "职业代码": "6-31-01-03", "等级": "2", "鉴定点代码": "B-A-A-001", "题型": "论述", "分值": "15", "难度": "4",
        "来源": "专家命题", "出题人": "命题专家 王建国",
        "题干": "某生产线采用PLC控制多台电动机按工艺顺序启停，试论述该控制系统的程序设计思路、安全联锁措施及调试步骤。",
        "解析": "要点1（3分）：工艺流程分析与I/O分配；要点2（4分）：顺序控制程序结构（步进或状态编程）；"
                "要点3（4分）：急停、过载、互锁等安全联锁措施；要点4（4分）：离线模拟、空载、带载调试步骤。",
    },
    {
        "职业代码": "6-31-01-03", "等级": "2", "鉴定点代码": "B-A-C-001", "题型": "论述", "分值": "15", "难度": "4",
        "来源": "专家命题", "出题人": "命题专家 王建国",
        "题干": "试论述交流伺服系统位置控制精度的影响因素，并说明现场提高定位精度的措施。",
        "解析": "要点1（4分）：机械传动间隙与刚性；要点2（4分）：编码器分辨率与反馈；"
                "要点3（3分）：增益参数整定；要点4（4分）：电子齿轮、反向间隙补偿等现场措施。",
    },
]  # fmt: skip


def _copy_blueprints(target: Path) -> dict[str, Path]:
    target.mkdir(exist_ok=True)
    out = {}
    for name in BLUEPRINTS:
        path = target / name
        path.write_text(resources.files("examvault.demo").joinpath("data", name).read_text("utf-8"), "utf-8")
        out[name] = path
    return out


def _describe(paper: dict[str, Any]) -> str:
    items = [i for i in paper["items"] if i["type"] != "组合"]
    points = sum(i["points"] for i in items)
    bank_items = [i for i in items if i["item_id"] and not i["expert_slot"]]
    x_points = sum(i["points"] for i in bank_items if i["importance"] == "X")
    drawn = sum(i["points"] for i in bank_items)
    mean_d = sum(i["points"] * i["difficulty"] for i in bank_items) / drawn
    sections = " + ".join(f"{s['type']} {s['count']}" for s in paper["sections"])
    return f"{sections} = {points:g} points; X {x_points / drawn:.0%} of bank-drawn points; mean planned difficulty {mean_d:.2f}"


def run_assembly_stage(bank: Callable[[str], Bank], directory: Path, console: Console, step: int,
                       signers: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """Returns the next step number, the level-3 papers and the level-2 papers. Every approval carries the approver's signature."""
    files = _copy_blueprints(directory / "blueprints")
    custodian = bank("custodian")
    for name in BLUEPRINTS[:3]:
        r = import_blueprint(custodian, files[name])
        console.print(f"{step}. blueprint {r['id']} v{r['version']} stored: {', '.join(r['sections'])}; {r['total_points']} points")
        step += 1

    l3 = "6-31-01-03/3/theory/2026A"
    check = check_blueprint(custodian, l3)
    d = check["disjoint_forms"]
    console.print(f"{step}. blueprint check {l3}: {check['eligible_items']} eligible items, "
                  f"{len(check['weak_points'])} points with < 4 active items, disjoint forms the bank could supply: "
                  f"{d['union_feasible']}, feasible: {check['feasible']}")  # fmt: skip
    step += 1
    papers = assemble(custodian, l3, forms=["A", "B"], seed=2026)
    shown = {p["form"]: show_paper(custodian, p["id"]) for p in papers}
    common = {i["item_id"] for i in shown["A"]["items"]} & {i["item_id"] for i in shown["B"]["items"]}
    console.print(f"{step}. level-3 forms A/B assembled in one model (seed 2026, {shown['A']['solver']}):")
    for form, p in shown.items():
        console.print(f"   {p['code']} form {form}: {_describe(p)}", markup=False)
    console.print(f"   items shared by A and B: {len(common)} of 190 (max_overlap 10%)")
    step += 1
    again = verify_derivation(custodian, papers[0]["id"])
    console.print(f"{step}. verify-derivation {again['paper']}: snapshot {again['snapshot_sha256'][:12]}… intact, "
                  f"re-solved layout identical: {again['identical']}")  # fmt: skip
    step += 1
    for p in papers:
        approve_paper(bank("approver"), p["id"], signer=signers["approver"])
        final = approve_paper(bank("approver2"), p["id"], signer=signers["approver2"])
        console.print(f"   {final['code']}: approved and signed by {' and '.join(final['approvals'])} → {final['status']} (usage counted now)")

    l2 = "6-31-01-03/2/theory/2026A"
    expert_file = directory / "input" / "专家命题_二级论述.json"
    expert_file.write_text(json.dumps(_EXPERT_ITEMS, ensure_ascii=False, indent=1), "utf-8")
    written = import_items(bank("author"), expert_file).codes
    transition(bank("author"), "submit", written)
    transition(bank("reviewer"), "approve", written, comment="专家命题审核通过")
    transition(bank("approver"), "activate", written)
    papers2 = assemble(custodian, l2, forms=["A", "B"], seed=2026)
    console.print(f"{step}. level-2 paper with subjective sections, forms A/B (seed 2026); expert items (专家命题) "
                  f"{', '.join(written)} written, reviewed and activated for its 论述 slot:")  # fmt: skip
    for p, code in zip(papers2, written, strict=True):
        slot = next(i["position"] for i in show_paper(custodian, p["id"])["items"] if i["expert_slot"])
        fill_expert_slot(custodian, p["id"], slot, code)
        approve_paper(bank("approver"), p["id"], signer=signers["approver"])
        approve_paper(bank("approver2"), p["id"], signer=signers["approver2"])
        console.print(f"   {p['code']} form {p['form']}: {_describe(show_paper(custodian, p['id']))}; slot {slot} ← {code}; approved", markup=False)
    step += 1

    from examvault.export.service import render_paper

    rendered = []
    for p in [*papers, *papers2]:
        rendered += render_paper(custodian, p["id"], directory / "papers")["files"]
    console.print(f"{step}. rendered the four approved papers, answer sheets (+ bubble maps) and marking keys (PDF + DOCX) into {directory / 'papers'}: "
                  f"{len(rendered)} files, e.g. {Path(rendered[0]['file']).name}")  # fmt: skip
    step += 1

    impossible = files["blueprint_impossible.yaml"]
    report = check_blueprint(custodian, str(impossible))
    console.print(f"{step}. a deliberately impossible blueprint ({impossible.name}): blueprint check says feasible = {report['feasible']}")
    try:
        assemble(custodian, str(impossible), seed=1)
    except AssemblyInfeasible as exc:
        console.print("   paper assemble refuses it and names the rows that conflict:")
        for s in exc.shortfalls:
            console.print(f"     - {s.message}", markup=False)
    custodian.close()
    return step + 1, papers, papers2

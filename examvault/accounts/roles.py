"""The permission matrix, in one place. The CLI and the HTTP API both ask `allowed()`."""

from __future__ import annotations

ROLES = (
    "custodian",
    "author",
    "reviewer",
    "approver",
    "assembler",
    "printer",
    "examiner",
    "exam_admin",
    "supervisor",
    "admin",
)

_META_READERS = frozenset({"custodian", "author", "reviewer", "approver", "assembler", "supervisor", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # Metadata only (codes, types, points, difficulty, status): never content.
    "item.list": _META_READERS,
    # Decrypted stems, options, answers, rubrics. Supervisors audit, they never read items.
    "item.read": frozenset({"custodian", "author", "reviewer", "approver"}),
    "item.write": frozenset({"custodian", "author"}),
    "item.submit": frozenset({"custodian", "author"}),
    "item.review": frozenset({"reviewer"}),
    "item.activate": frozenset({"custodian", "approver"}),
    "item.retire": frozenset({"custodian"}),
    "item.export": frozenset({"custodian"}),
    "outline.read": _META_READERS | {"exam_admin"},
    "outline.write": frozenset({"custodian"}),
    "blueprint.read": _META_READERS,
    "blueprint.write": frozenset({"custodian", "assembler"}),
    # Which items sit on a paper is as secret as the paper: authors and reviewers can read
    # items, so they must not learn which ones were drawn.
    "paper.list": frozenset({"custodian", "assembler", "approver", "supervisor"}),
    "paper.assemble": frozenset({"custodian", "assembler"}),
    # A form's answers: what approvers check and custodians seal into marking keys.
    "paper.key": frozenset({"custodian", "approver"}),
    "paper.expert": frozenset({"custodian", "assembler"}),
    "paper.approve": frozenset({"approver"}),
    "paper.seal": frozenset({"custodian"}),
    # Rendering writes the paper and its key in plaintext files: custodians only, audited.
    "paper.render": frozenset({"custodian"}),
    "paper.use": frozenset({"custodian", "exam_admin"}),
    "paper.archive": frozenset({"custodian"}),
    "keys.manage": frozenset({"custodian", "admin"}),
    # Parties (printers, examiners, sites, couriers, officers) are registered by their public keys.
    "party.manage": frozenset({"custodian", "admin"}),
    "party.list": frozenset({"custodian", "admin", "supervisor", "exam_admin"}),
    # The custody log holds no item content: supervisors and exam administration read it whole.
    "custody.read": frozenset({"custodian", "supervisor", "admin", "exam_admin"}),
    "custody.append": frozenset({"custodian", "exam_admin"}),
    # Opening an electronic paper with officers' shares, on exam day.
    "package.release": frozenset({"exam_admin", "custodian"}),
    "audit.read": frozenset({"supervisor", "admin"}),
    # Exam sessions, rooms and candidates; candidates' personal data is sealed and shown masked.
    "session.read": frozenset({"exam_admin", "supervisor", "custodian", "admin"}),
    "session.manage": frozenset({"exam_admin"}),
    "session.advance": frozenset({"exam_admin"}),
    "candidate.manage": frozenset({"exam_admin"}),
    # Candidate lists show ID numbers masked; the full number only to exam administration.
    "candidate.read": frozenset({"exam_admin", "supervisor", "admin"}),
    "candidate.identity": frozenset({"exam_admin"}),
    # The annual plan and its 公告 are public once announced.
    "plan.read": frozenset({"exam_admin", "supervisor", "custodian", "admin"}),
    "plan.manage": frozenset({"exam_admin"}),
    "eligibility.rules": frozenset({"exam_admin", "admin"}),
    "ticket.issue": frozenset({"exam_admin"}),
    "attendance.record": frozenset({"exam_admin"}),
    # Certificates: a numbered blank-form stock and a ledger nobody can edit, only append to.
    "certificate.read": frozenset({"exam_admin", "supervisor", "admin"}),
    "certificate.issue": frozenset({"exam_admin"}),
    "certificate.revoke": frozenset({"exam_admin", "admin"}),
    # Records retention: purging is irreversible, so the administrator does it; supervisors watch.
    "retention.read": frozenset({"exam_admin", "supervisor", "admin"}),
    "retention.purge": frozenset({"admin"}),
    "report.annual": frozenset({"exam_admin", "supervisor", "admin"}),
    # Scoring: examiners import the marking key sealed to them; exam administration imports responses
    # and panels' score sheets, computes, publicises and releases results.
    "scoring.key": frozenset({"examiner", "exam_admin"}),
    "scoring.responses": frozenset({"exam_admin"}),
    # Panel sheets name each examiner by staff code; accounts are not tied to staff codes yet, so one
    # examiner account could enter a whole panel: exam administration enters the signed paper sheets.
    "scoring.parts": frozenset({"exam_admin"}),
    # Item statistics: the custodian feeds exams back into the bank; reviewers and approvers read the
    # evidence and settle the review queue (keep = item.activate, retire = item.retire); supervisors read.
    "stats.update": frozenset({"custodian"}),
    "stats.read": frozenset({"custodian", "reviewer", "approver", "supervisor"}),
    # Blind marking: exam administration registers the sealed scripts, assigns markers and unmasks;
    # examiners mark, total and check (the totaller is never the checker, enforced in the service).
    "marking.seal": frozenset({"exam_admin"}),
    "marking.assign": frozenset({"exam_admin"}),
    "marking.mark": frozenset({"examiner"}),
    "marking.total": frozenset({"examiner"}),
    "marking.read": frozenset({"examiner", "exam_admin", "supervisor"}),
    "marking.unmask": frozenset({"exam_admin"}),
    # Violations are recorded by exam administration from the proctors' signed reports.
    "violation.record": frozenset({"exam_admin"}),
    "results.compute": frozenset({"exam_admin"}),
    "results.read": frozenset({"exam_admin", "supervisor", "admin"}),
    "results.publicize": frozenset({"exam_admin"}),
    "results.release": frozenset({"exam_admin"}),
    # The platform upload and the 成绩登记表 carry full ID numbers: exam administration, who also needs
    # `candidate.identity`; audited.
    "results.export": frozenset({"exam_admin"}),
    # The personnel registry: examiners, invigilators, chief examiners and supervisors.
    "staff.read": frozenset({"exam_admin", "supervisor", "admin"}),
    "staff.manage": frozenset({"exam_admin", "admin"}),
    "staff.assign": frozenset({"exam_admin"}),
    "staff.discipline": frozenset({"exam_admin", "admin"}),
    "staff.badge": frozenset({"exam_admin"}),
    # Supervision: supervisors inspect and close findings; nobody else may clear their own findings.
    "quality.file": frozenset({"supervisor"}),
    "quality.check": frozenset({"supervisor"}),
    "quality.incident": frozenset({"exam_admin", "supervisor"}),
    "quality.report": frozenset({"supervisor", "exam_admin", "admin"}),
    "bank.backup": frozenset({"custodian", "admin"}),
    "user.manage": frozenset({"admin"}),
}


def allowed(roles: set[str] | frozenset[str], permission: str) -> bool:
    return bool(PERMISSIONS[permission] & set(roles))

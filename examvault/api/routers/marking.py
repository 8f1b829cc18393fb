"""Blind double marking (主观题双评): thin faces over examvault/scoring/marking.py.

A marker opens their own signing key once per login session (it stays in this process's memory,
never on disk or in the database) and then enters marks point by point; every mark, 统分 and 复核 is
signed with it. Scripts are known by their 密封号 alone: the candidate behind a script is sealed and
only `unmask`, after every script is totalled and checked, reads the mapping.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from examvault.api.deps import Caller, need
from examvault.api.routers._common import Code, Ref, text
from examvault.api.uploads import in_memory_file
from examvault.crypto.signing import SigningKey
from examvault.errors import ConflictError, NotFoundError, ValidationError
from examvault.scoring import marking

router = APIRouter(tags=["marking"])
SessionCode = Annotated[
    str, Path(max_length=80, pattern=r"^[^\x00/]+$", description="the exam session's code")
]
SealCode = Annotated[
    str, Path(min_length=4, max_length=16, pattern=r"^[0-9A-Za-z]+$", description="the script's 密封号")
]
Number = Annotated[int, Path(ge=1, le=1000, description="the item's number on the form")]
Encoding = Annotated[
    str | None,
    Query(
        max_length=20, pattern=r"^[A-Za-z0-9_\-]+$", description="for a csv that is not UTF-8, e.g. gb18030"
    ),
]
LOAD_KEY_FIRST = (
    "load your signing key first (POST /api/v1/marking/signing-key with your signing-key file's text and "
    "passphrase): marks, 统分 and 复核 are signed with it"
)
ANSWERS_ON_PAPER = (
    "the candidate's answer is on the sealed paper booklet with this 密封号; the bank holds no answer text"
)


def _signer(who: Caller) -> SigningKey:
    key = who.server.signer(who.identity.token_id)
    if key is None:
        raise ConflictError(LOAD_KEY_FIRST)
    return key


# ---------------------------------------------------------------- the marker's signing key


class SignKey(BaseModel):
    sign_key: Annotated[
        str,
        Field(
            min_length=1, max_length=4000, pattern=r"^[^\x00]*$", description="your signing-key file's text"
        ),
    ]
    passphrase: Annotated[str, Field(max_length=1024, pattern=r"^[^\x00]*$")]


def _open_key(text: str, passphrase: str) -> SigningKey:
    return SigningKey.from_file_text(
        text, passphrase, what="sign_key"
    )  # KDF bounds: examvault.crypto.kdf.LIMITS


def _key_info(key: SigningKey) -> dict[str, Any]:
    return {"name": key.name, "key_id": key.verify_key.key_id, "verify_key": str(key.verify_key)}


@router.post("/marking/signing-key")
def load_signing_key(body: SignKey, who: Caller = Depends(need("marking.mark"))) -> dict[str, Any]:
    """Open your signing key for this login session: kept in the server's memory only, dropped at logout,
    at the session's end or when the server is sealed. Answers its name and key id, never the key."""
    key = _open_key(body.sign_key, body.passphrase)
    if key.name != who.username:
        raise ValidationError(
            f"sign_key: this signing key is {key.name!r}'s; a marker signs with their own key, "
            f"registered as an examiner party under {who.username!r}"
        )
    who.server.hold_signer(who.identity.token_id, key)
    return {"loaded": True, **_key_info(key)}


@router.get("/marking/signing-key")
def signing_key(who: Caller = Depends(need(None))) -> dict[str, Any]:
    """Whether a signing key is held for this login session (its name and key id)."""
    key = who.server.signer(who.identity.token_id)
    return {"loaded": False} if key is None else {"loaded": True, **_key_info(key)}


@router.delete("/marking/signing-key")
def drop_signing_key(who: Caller = Depends(need(None))) -> dict[str, Any]:
    """Forget the signing key held for this login session."""
    who.server.drop_signer(who.identity.token_id)
    return {"loaded": False}


# ---------------------------------------------------------------- marking


def screen(bank: Any, session_code: str, seal_code: str, number: int) -> dict[str, Any]:
    """One queued item of one script as the marking screen shows it (the API's and the console's)."""
    code = seal_code.upper()
    entry = next(
        (
            e
            for e in marking.queue(bank, session_code, limit=None)
            if e["script"] == code and e["number"] == number
        ),
        None,
    )
    if entry is None:
        raise NotFoundError(
            f"{code} item {number} is not in your queue of {session_code}: it does not exist, you are not "
            "assigned to it, you marked it already (a change is posted with a reason), or it needs no "
            "further mark from you"
        )
    maxima = [float(p) for p in entry["marking_points"]]
    return {
        "session": session_code,
        "script": entry["script"],
        "number": number,
        "as": entry["as"],
        "as_label": marking.ROLE_LABELS[entry["as"]],
        "points": sum(maxima),
        "marking_points": [{"point": k, "max": p} for k, p in enumerate(maxima, start=1)],
        "answer": None,
        "answer_note": ANSWERS_ON_PAPER,
    } | {"reference": marking.guide(bank, session_code, number)}


@router.get("/marking/{session_code}/queue")
def queue(
    session_code: SessionCode,
    who: Caller = Depends(need("marking.mark")),
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> list[dict[str, Any]]:
    """What you may mark now: scripts by 密封号 and item, with the item's marking points; never a candidate
    and never another marker's marks."""
    return marking.queue(who.bank, session_code, limit=limit)


@router.get("/marking/{session_code}/scripts/{seal_code}/items/{number}")
def marking_screen(
    session_code: SessionCode,
    seal_code: SealCode,
    number: Number,
    who: Caller = Depends(need("marking.mark")),
) -> dict[str, Any]:
    """What the marking screen needs for one item of one script in your queue: the 评分要点 (marking points
    with their maximum points, from the sealed marking key) and the role you mark it as. The answer itself
    is on the paper booklet: the bank holds no answer text of subjective items."""
    return screen(who.bank, session_code, seal_code, number)


# strict: a number, not "1" and not true
Point = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False, strict=True)]


class Marks(BaseModel):
    points: Annotated[
        list[Point],
        Field(
            min_length=1, max_length=50, description="your marks per marking point, in order, in half points"
        ),
    ]
    reason: text(400) = ""


@router.post("/marking/{session_code}/scripts/{seal_code}/items/{number}/marks")
def enter_marks(
    session_code: SessionCode,
    seal_code: SealCode,
    number: Number,
    body: Marks,
    who: Caller = Depends(need("marking.mark")),
) -> dict[str, Any]:
    """Your marks for one item of one script, signed with your held signing key. A second entry of yours
    is a change: it needs a reason and supersedes the first, which stays in the history."""
    return marking.mark(
        who.bank, session_code, seal_code, number, body.points, signer=_signer(who), reason=body.reason
    )


@router.get("/marking/{session_code}/scripts/{seal_code}/history")
def history(
    session_code: SessionCode, seal_code: SealCode, who: Caller = Depends(need("marking.read"))
) -> dict[str, Any]:
    """Every mark on one script, changes included, and whether each signature verifies: for exam
    administration, supervisors and the items' group leaders, not for markers."""
    return marking.history(who.bank, session_code, seal_code)


@router.get("/marking/{session_code}/status")
def status(session_code: SessionCode, who: Caller = Depends(need("marking.read"))) -> dict[str, Any]:
    """Progress by item (codes and counts only), and who totalled, checked and unmasked."""
    return marking.status(who.bank, session_code)


# ---------------------------------------------------------------- 统分, 复核, unmasking


@router.post("/marking/{session_code}/total")
def total(session_code: SessionCode, who: Caller = Depends(need("marking.total"))) -> dict[str, Any]:
    """统分: every script's subjective total from its settled items, signed with your held key."""
    return marking.total(who.bank, session_code, signer=_signer(who))


@router.post("/marking/{session_code}/check")
def check(session_code: SessionCode, who: Caller = Depends(need("marking.total"))) -> dict[str, Any]:
    """复核: re-add every script from the signed marks, signed with your held key; never by the totaller."""
    return marking.check(who.bank, session_code, signer=_signer(who))


@router.post("/marking/{session_code}/unmask")
def unmask(session_code: SessionCode, who: Caller = Depends(need("marking.unmask"))) -> dict[str, Any]:
    """Open the seal once every script is totalled and checked: subjective totals join the answer sheets."""
    return marking.unmask(who.bank, session_code)


# ---------------------------------------------------------------- sealing staff and exam administration


@router.post("/marking/{session_code}/seal")
async def seal(
    session_code: SessionCode,
    file: Annotated[UploadFile, File(description="the 密封登记: 准考证号, 卷别, 密封号 (csv or xlsx)")],
    who: Caller = Depends(need("marking.seal")),
    encoding: Encoding = None,
) -> dict[str, Any]:
    """Register the sealing staff's 密封登记; the mapping is sealed until unmasking. The file is held in
    memory only, never written to disk. All or nothing, every problem by row and column."""
    name, data = file.filename or "密封登记.csv", await file.read()

    def run() -> dict[str, Any]:
        with in_memory_file(name, data, allowed=(".csv", ".xlsx")) as path:
            return marking.seal_scripts(who.bank, session_code, path, encoding=encoding)

    return await run_in_threadpool(run)


class Assign(BaseModel):
    items: Annotated[
        list[Annotated[int, Field(ge=1, le=1000, strict=True)]],
        Field(min_length=1, max_length=200, description="subjective item numbers"),
    ]
    markers: Annotated[
        list[Code], Field(min_length=2, max_length=50, description="two or more examiners' user names")
    ]
    leader: Code
    threshold: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = marking.DEFAULT_THRESHOLD
    paper: Ref | None = None


@router.post("/marking/{session_code}/assign")
def assign(
    session_code: SessionCode, body: Assign, who: Caller = Depends(need("marking.assign"))
) -> dict[str, Any]:
    """Two or more markers and a group leader (题组长) for subjective items; re-assigning replaces them."""
    return marking.assign_markers(
        who.bank,
        session_code,
        body.items,
        markers=body.markers,
        leader=body.leader,
        threshold=body.threshold,
        paper=body.paper,
    )

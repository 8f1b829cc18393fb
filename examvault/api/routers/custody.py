"""The custody log: events, proofs, checkpoints and the log's own verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from examvault.api.deps import Caller, need
from examvault.api.routers._common import query_text, text
from examvault.crypto.signing import VerifyKey
from examvault.custody import service as custody
from examvault.errors import IntegrityError

router = APIRouter(tags=["custody"])
Q = query_text


@router.get("/custody/events")
def events(who: Caller = Depends(need("custody.read")), paper: Annotated[str | None, Q(200)] = None,
           package: Annotated[str | None, Q(40)] = None, type: Annotated[str | None, Q(60)] = None,
           limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:  # fmt: skip
    """The events, oldest first: who handed what to whom, and when."""
    return custody.list_events(who.bank, paper=paper, package=package, type_=type, limit=limit)


@router.get("/custody/events/{seq}/proof")
def proof(seq: Annotated[int, Path(ge=0, le=2**31 - 1)], who: Caller = Depends(need("custody.read"))) -> dict[str, Any]:
    """An inclusion proof (a receipt) under the latest signed checkpoint."""
    return custody.inclusion_proof(who.bank, seq)


@router.post("/custody/checkpoint")
def checkpoint(who: Caller = Depends(need("custody.append"))) -> dict[str, str]:
    """Sign the current tree head (a C2SP signed note)."""
    return {"checkpoint": custody.checkpoint(who.bank)}


class Consistency(BaseModel):
    checkpoint: text(4000, 1)


@router.post("/custody/consistency")
def consistency(body: Consistency, who: Caller = Depends(need("custody.read"))) -> dict[str, Any]:
    """A consistency proof from a checkpoint you saved earlier to the latest: detects rollback and forks."""
    return custody.consistency_proof(who.bank, body.checkpoint)


class Verify(BaseModel):
    trusted_key: Annotated[str | None, Field(max_length=400, pattern=r"^[^\x00]*$",
                                             description="the institution's verifier key as you hold it")] = None
    seen_checkpoint: Annotated[str | None, Field(max_length=4000, pattern=r"^[^\x00]*$")] = None


@router.post("/custody/verify")
def verify(body: Verify, who: Caller = Depends(need("custody.read"))) -> dict[str, Any]:
    """Recompute the tree, check every checkpoint's signature and every handover; answers the failure, not an error."""
    trusted = VerifyKey.parse(body.trusted_key, "trusted_key") if body.trusted_key else None
    try:
        return {"ok": True} | custody.verify_log(who.bank, seen_checkpoint=body.seen_checkpoint, trusted=trusted)
    except IntegrityError as exc:
        return {"ok": False, "failure": str(exc)}

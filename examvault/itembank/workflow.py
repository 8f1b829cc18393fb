"""The review workflow as data: draft → submitted → reviewed → active → suspended/retired."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    permission: str


TRANSITIONS = {
    t.action: t
    for t in (
        Transition("submit", frozenset({"draft"}), "submitted", "item.submit"),
        Transition("approve", frozenset({"submitted"}), "reviewed", "item.review"),
        Transition("reject", frozenset({"submitted"}), "draft", "item.review"),
        Transition("activate", frozenset({"reviewed", "suspended"}), "active", "item.activate"),
        Transition("suspend", frozenset({"active"}), "suspended", "item.retire"),
        Transition("retire", frozenset({"draft", "submitted", "reviewed", "active", "suspended"}), "retired", "item.retire"),
    )
}

# Only these are drawn by assembly.
ELIGIBLE_STATUS = "active"

"""多选 partial credit chosen by the blueprint (`partial: 0.5` on the 多选 section): the rule reaches the
candidates' instructions and the sealed machine key, and the import scores by it — half the points for
a correct proper subset, nothing for any wrong letter. The sitting is tests/scoring/conftest.py's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from examvault.bank import Bank
from examvault.export.service import build_document
from examvault.scoring.models import ScoredResponse
from examvault.scoring.responses import import_responses
from tests.export.test_sealing import Sealable, make_sealable
from tests.scoring.conftest import SESSION, Scoring
from tests.scoring.test_scoring_flow import all_right, door, mixed, responses_of


@pytest.fixture
def sealable(make_bank: Callable[..., Bank], tmp_path: Path) -> Sealable:
    return make_sealable(make_bank, tmp_path, partial=0.5)


def test_the_blueprints_partial_rule_is_printed_keyed_and_scored(scoring: Scoring) -> None:
    sc = scoring
    key = sc.keyed()
    multi = [i for i in key["items"] if i["type"] == "多选"]
    assert multi and all(i["partial"] == 0.5 for i in multi)
    assert all("partial" not in i for i in key["items"] if i["type"] != "多选")
    with sc.s.bank("cust").transaction() as session:
        from examvault.assembly.service import paper_by_ref

        doc = build_document(sc.s.bank("cust"), session, paper_by_ref(session, sc.paper))
    heading = next(s.heading for s in doc.sections if s.type == "多选")
    assert "错选、多选不得分；少选且所选正确的，得1分" in heading

    door(sc)
    items = sc.items()
    answers, by_hand = mixed(items)
    # mixed(): 多选 right reversed (2), a proper subset (all-or-nothing 0 → half: 1), a superset (0), omitted (0)
    import_responses(sc.admin, SESSION, sc.responses("答题卡.csv", responses_of(sc, {1: all_right(items), 3: answers})))
    scored = {r.candidate_id: r.objective for r in sc.rows(ScoredResponse)}
    assert sorted(scored.values()) == [sum(by_hand) + 1.0, 20.0]

import itertools
from datetime import timedelta
from examvault.registration.service import create_session
from examvault.db import beijing_today
from tests.api.test_exams_api import V1, upload
from tests.scoring.conftest import planned  # noqa
from tests.registration.conftest import YEAR

def test_fuzz(api, planned):
    create_session(planned, "F-1", occupation="6-31-01-03", level=3, exam_date=beijing_today() - timedelta(days=3),
                   plan_year=YEAR, site_code="360101", times={"theory": "09:00-10:30"})
    clients = [api.as_("kaowu"), api.as_("adm")]
    weird = ["F-1", "x", "%00", "..", "%2e%2e", "a%2Fb", "考生", " ", "S000136360101263000001", "S0001363601012630000011",
             "０００", "\u202e", "a" * 22, "EV1.e30.AA", "1e999", "-1", "NaN"]
    gets = ["/sessions/{}", "/candidates/{}", "/certificates/{}", "/certificates/{}/pdf", "/certificates/{}/token",
            "/certificate-numbers/{}", "/staff/{}", "/sessions/{}/attendance", "/sessions/{}/results", "/sessions/{}/violations",
            "/plans/{}"]
    posts = {"/sessions/{}/tickets": [None, {}, {"candidates": ["x"]}, {"candidates": ["", "x"]}],
             "/sessions/{}/attendance": [{"ticket": "1"}, {"ticket": "EV1.x.y"}, {"ticket": "1", "at": "2100-12-31T23:59:59+14:00"},
                                         {"ticket": "1", "absent": True, "at": "2000-01-01T00:00:00-12:00"}],
             "/sessions/{}/attendance/close": [{}, {"part": "skill"}, {"at": "2100-01-01T00:00:00Z"}],
             "/sessions/{}/scores/review": [{"ticket": "1", "score": 50.55, "chief": "C", "reason": "r"},
                                            {"ticket": "1", "score": "NaN", "chief": "C", "reason": "r"}],
             "/sessions/{}/violations": [{"ticket": "1", "part": "theory", "tier": "warning", "proctor": "K",
                                          "at": "2000-01-01T00:00:00+00:00", "reason": " "}],
             "/sessions/{}/results/compute": [None], "/sessions/{}/results/publicize": [None, {"start": "2100-12-31"}, {"start": "2000-01-01"}],
             "/sessions/{}/results/objections": [{"ticket": "1", "reason": " "}], "/sessions/{}/results/release": [None],
             "/sessions/{}/results/export": [None], "/sessions/{}/certificates": [None, {"on": "2100-12-31"}, {"forms": True}],
             "/certificates/{}/void": [{"reason": " "}, {"reason": "x"}], "/certificates/{}/revoke": [{"reason": "x"}],
             "/certificates/{}/reissue": [{"reason": "x", "form": "ZZ"}]}
    bad = []
    for c in clients:
        for g, w in itertools.product(gets, weird):
            r = c.get(V1 + g.format(w))
            if r.status_code >= 500 or r.status_code == 200 and "pdf" in g: bad.append((g, w, r.status_code, r.text[:150]))
        for (p, bodies), w in itertools.product(posts.items(), weird):
            for b in bodies:
                r = c.post(V1 + p.format(w), json=b) if b is not None else c.post(V1 + p.format(w))
                if r.status_code >= 500: bad.append((p, w, b, r.status_code, r.text[:150]))
        for params in ({"number": "x"}, {"serial": " "}, {"number": "S000136360101263000001"}):
            r = c.get(V1 + "/certificates/ledger", params=params)
            if r.status_code >= 500: bad.append(("ledger", params, r.text[:150]))
        for params in ({"plan": 2100}, {"session": "nope"}, {"status": "x", "occupation": "y"}):
            for path in ("/candidates", "/certificates", "/staff"):
                r = c.get(V1 + path, params=params)
                if r.status_code >= 500: bad.append((path, params, r.text[:150]))
    assert not bad, "\n".join(map(str, bad))

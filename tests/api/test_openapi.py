"""The OpenAPI document checked into docs/ is the one the service publishes."""

import json
from pathlib import Path

from examvault.api.app import create_app

DOC = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_docs_openapi_json_is_current() -> None:
    published = create_app("sqlite://").openapi()
    assert json.loads(DOC.read_text("utf-8")) == json.loads(json.dumps(published)), (
        "docs/openapi.json is stale: run `python -m examvault.api.app`")
    assert len(published["paths"]) > 80

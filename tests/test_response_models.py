"""The report, notices and disputes have response models in the OpenAPI document, each number with its unit
(issue 11, finding 24)."""

from __future__ import annotations

from typing import Any

from tests.apisupport import PERSON, SOURCE, Api, record

TYPED = [
    ("/v1/me/report", "get"),
    ("/v1/me/notices", "get"),
    ("/v1/me/disputes", "get"),
    ("/v1/me/disputes", "post"),
    ("/v1/me/repairs", "post"),
    ("/v1/disputes", "get"),
    ("/v1/disputes/{dispute_id}", "get"),
    ("/v1/disputes/{dispute_id}/decision", "post"),
    ("/v1/source/disputes", "get"),
]


def _schema(spec: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in ref:
        ref = spec["components"]["schemas"][ref["$ref"].rpartition("/")[2]]
    if ref.get("type") == "array":
        return _schema(spec, ref["items"])
    return ref


def _field(spec: dict[str, Any], model: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][model]["properties"][name]
    return found


def test_the_report_notices_and_disputes_are_typed_with_units(api: Api) -> None:
    spec = api.client.get("/v1/openapi.json").json()
    for path, method in TYPED:
        responses = spec["paths"][path][method]["responses"]
        ok = next(r for code, r in responses.items() if code.startswith("2"))
        schema = _schema(spec, ok["content"]["application/json"]["schema"])
        assert schema.get("properties"), f"{method} {path} answers an untyped object"
    assert "hundredths" in _field(spec, "ContributionOut", "contribution")["description"]
    assert "in points" in _field(spec, "ContributionOut", "effective_points")["description"]
    assert "hundredths" in _field(spec, "ReasonOut", "points")["description"]
    assert "hundredths" in _field(spec, "DimensionOut", "hundredths")["description"]
    assert "in points" in _field(spec, "DimensionOut", "points")["description"]


def test_answers_fit_their_models_unchanged(api: Api) -> None:
    api.push(record("J-1"))
    me = api.headers("subject", PERSON)
    report = api.client.get("/v1/me/report", headers=me)
    assert report.status_code == 200, report.text
    mine = report.json()["subjects"][0]
    assert mine["contributions"][0]["contribution"] == -10000  # -100 points, in hundredths
    assert mine["reasons"][0]["points"] == -10000 and "100.00 points" in mine["reasons"][0]["text"]
    assert mine["dimensions"]["legal"] == {"points": -100.0, "hundredths": -10000, "before_clamp": -10000,
                                           "min": -400, "max": 0}  # fmt: skip
    opened = api.client.post(
        "/v1/me/disputes", json={"source": SOURCE, "record_id": "J-1", "statement": "not mine"}, headers=me
    )
    assert opened.status_code == 201 and opened.json()["statement"] == "not mine"
    dispute_id = opened.json()["dispute_id"]
    notices = api.client.get("/v1/me/notices", headers=me)
    assert notices.status_code == 200 and notices.json()["notices"]
    queue = api.client.get("/v1/disputes", headers=api.headers("reviewer", "rita"))
    assert queue.status_code == 200 and "statement" not in queue.json()[0]
    one = api.client.get(f"/v1/disputes/{dispute_id}", headers=api.headers("reviewer", "rita")).json()
    assert one["record"]["category"] == "court.judgment_default" and one["statement"] == "not mine"
    decided = api.client.post(
        f"/v1/disputes/{dispute_id}/decision", json={"outcome": "upheld", "reasons": "checked"},
        headers=api.headers("reviewer", "rita"),
    )  # fmt: skip
    assert decided.status_code == 200 and decided.json()["decided_by"] == "rita"
    for path, headers in (("/v1/me/disputes", me), ("/v1/source/disputes", api.headers("source", SOURCE))):
        answer = api.client.get(path, headers=headers)
        assert answer.status_code == 200 and answer.json()[0]["statement"] == "not mine", answer.text

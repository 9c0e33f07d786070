"""The OpenAPI description: every route, generated from the very models that validate requests."""

from __future__ import annotations

import re

from app.api import schemas as api_schemas
from app.schemas import Credentials, SMESignup, StudentSignup


def _document(anon):
    response = anon.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_every_api_route_is_described_and_nothing_else(app, anon):
    doc = _document(anon)
    described = {
        (method.upper(), path) for path, methods in doc["paths"].items() for method in methods
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == routed


def test_request_bodies_are_the_models_that_validate_them(anon):
    doc = _document(anon)
    components = doc["components"]["schemas"]
    for model in (
        StudentSignup,
        SMESignup,
        Credentials,
        api_schemas.PairIn,
        api_schemas.DecisionIn,
    ):
        generated = model.model_json_schema(ref_template=api_schemas.REF)
        generated.pop("$defs", None)
        assert components[model.__name__] == generated
    signup = doc["paths"]["/api/v1/students"]["post"]["requestBody"]["content"]
    assert signup["application/json"]["schema"] == {"$ref": "#/components/schemas/StudentSignup"}
    assert {"hours_per_week", "consent", "languages"} <= set(
        components["StudentSignup"]["required"]
    )


def test_every_reference_resolves(anon):
    doc = _document(anon)
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', str(doc).replace("'", '"')))
    assert refs and refs <= set(doc["components"]["schemas"])


def test_operations_declare_security_parameters_and_error_codes(anon):
    doc = _document(anon)
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /api/v1/tokens.",
    }
    matches = doc["paths"]["/api/v1/matches"]["get"]
    params = {p["name"]: p for p in matches["parameters"]}
    assert params["per_page"]["schema"]["maximum"] == 100
    assert params["per_page"]["schema"]["minimum"] == 1
    assert params["page"]["schema"]["minimum"] == 1
    assert params["cycle"]["schema"]["type"] == "integer"
    assert "proposed" in str(params["status"]["schema"]) or "$ref" in params["status"]["schema"]
    assert matches["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/api/v1/taxonomy"]["get"]["security"] == []
    tokens = doc["paths"]["/api/v1/tokens"]["post"]["responses"]
    assert set(tokens) == {"201", "400", "401", "422", "429"}
    assert "Retry-After" in tokens["429"]["headers"]
    approve = doc["paths"]["/api/v1/matches/{match_id}/approve"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(approve["responses"])
    assert approve["requestBody"]["required"] is False
    for path in doc["paths"].values():
        for operation in path.values():
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}

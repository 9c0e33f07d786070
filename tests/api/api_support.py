"""The API client the tests use: importable by name (`from api_support import Api`)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from app.extensions import db
from app.models import User
from app.services import tokens


class Api:
    """A test client that speaks JSON to /api/v1 with an optional bearer token."""

    def __init__(self, client: FlaskClient, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out.update(headers or {})
        return out

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        if body is not None:
            kwargs["json"] = body
        response = self.client.open(
            "/api/v1" + path, method=method, headers=self._headers(headers), **kwargs
        )
        # Whatever happens under /api/, the answer is JSON (or empty), never an HTML page.
        if response.status_code != 204:
            assert response.mimetype == "application/json", (response.status_code, response.data)
        assert response.status_code < 500, response.data
        if response.status_code >= 400:
            assert set(response.json) == {"error"}
            assert set(response.json["error"]) == {"code", "message", "fields"}
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


def token_for(user: User) -> str:
    _token, secret = tokens.issue(user)
    db.session.commit()
    return secret

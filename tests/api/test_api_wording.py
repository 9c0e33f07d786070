"""The API's reason `detail` is app.services.explanations' sentence, in the reader's language."""

from __future__ import annotations

from flask_babel import force_locale

from app.services import explanations


def test_the_api_detail_is_the_modules_sentence(app, as_user, coordinator, proposal):
    answer = as_user(coordinator).get("/matches", headers={"Accept-Language": "ko"})
    [body] = answer.json["items"]
    with app.test_request_context(), force_locale("ko"):
        expected = [explanations.reason_text(r) for r in proposal.reasons]
    assert [r["detail"] for r in body["reasons"]] == expected
    assert all(r["detail"] for r in body["reasons"])

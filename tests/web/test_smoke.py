def test_public_pages_answer(client):
    for path in ["/", "/privacy", "/signup", "/login", "/student/signup", "/sme/signup"]:
        assert client.get(path).status_code == 200, path


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "database_write": "ok",
        "uploads": "ok",
    }

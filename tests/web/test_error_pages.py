"""Addresses no route answers: a page in words, and under /api/ JSON that says where the addresses are listed."""

from __future__ import annotations


def test_an_address_no_route_answers_says_so_in_words_where_to_look(client, auth):
    auth.login("manager")
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "There is no page at /no/such/page." in page.get_data(as_text=True)
    api = client.get("/api/v1/tasks/abc")
    assert api.status_code == 404 and api.get_json()["error"]["message"] == (
        "No endpoint of the API answers GET /api/v1/tasks/abc: the reference at /api/v1/docs lists them (ids in "
        "addresses are whole numbers).")


def test_a_database_that_cannot_be_reached_is_a_503_saying_so_and_when_to_try_again(tmp_path):
    from web import create_app

    app = create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False, "SECRET_KEY": "t",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'valueflow.db'}"})
    client = app.test_client()
    with client.session_transaction() as session:
        session["_csrf"] = "t"
    page = client.post("/login", data={"username": "manager", "password": "pw", "csrf_token": "t"})
    api = client.get("/api/v1/tasks", headers={"Authorization": "Bearer vf_any"})
    app.extensions["valueflow"].dispose()
    assert (page.status_code, page.headers["Retry-After"]) == (503, "60")
    assert "Valueflow cannot reach its database just now. Try again in a minute" in page.get_data(as_text=True)
    assert (api.status_code, api.get_json()["error"]["code"]) == (503, "unavailable")
    assert api.get_json()["error"]["message"].startswith("Valueflow cannot reach its database just now.")

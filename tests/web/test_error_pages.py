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

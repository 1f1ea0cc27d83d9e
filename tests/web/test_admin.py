"""Admins list users, add one and set their roles."""

from __future__ import annotations

import pytest

from engine.work import accounts
from tests.web.conftest import text_of


def test_the_user_list_shows_every_user_with_their_roles(client, auth):
    auth.login("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    for name in ("admin", "analyst-2", "credit-analyst", "customer-service", "manager", "underwriter"):
        assert f'<th scope="row">{name}' in html
    assert 'value="credit-analyst" checked' in html


def test_an_admin_adds_a_user_who_can_then_sign_in_and_work_the_queue(client, auth):
    auth.login("admin")
    response = auth.post("/admin/users", data={"name": "a.moss", "password": "correct-horse",
                                              "roles": ["credit-analyst", "underwriter"]})
    assert response.status_code == 302
    assert "User a.moss added with the roles credit-analyst, underwriter." in text_of(client.get("/admin/users"))
    auth.logout()
    assert auth.login("a.moss", "correct-horse").headers["Location"] == "/inbox"


@pytest.mark.parametrize("form, message", [
    ({"name": "", "password": "long-enough", "roles": ["manager"]}, "A user name has letters"),
    ({"name": "bad name!", "password": "long-enough", "roles": ["manager"]}, "A user name has letters"),
    ({"name": "manager", "password": "long-enough", "roles": ["manager"]}, "There is already a user named manager"),
    ({"name": "newbie", "password": "short", "roles": ["manager"]}, "at least 8 characters"),
    ({"name": "newbie", "password": "long-enough"}, "Choose at least one role."),
    ({"name": "newbie", "password": "long-enough", "roles": ["wizard"]}, "Unknown role: wizard."),
])
def test_a_bad_new_user_is_refused_with_the_reason_and_the_values_kept(client, auth, new_uow, form, message):
    auth.login("admin")
    response = auth.post("/admin/users", data=form)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/users#add-heading"
    response = client.get(response.headers["Location"])
    assert response.status_code == 400
    assert message in text_of(response)
    assert accounts.account(new_uow(), "newbie") is None
    assert accounts.account(new_uow(), "manager").roles == {"manager"}


def test_an_admin_sets_a_users_roles_adding_and_removing(client, auth, new_uow):
    auth.login("admin")
    response = auth.post("/admin/users/analyst-2/roles", data={"roles": ["underwriter", "manager"]})
    assert response.status_code == 302
    assert accounts.account(new_uow(), "analyst-2").roles == {"underwriter", "manager"}
    assert "analyst-2 now holds: manager, underwriter." in text_of(client.get("/admin/users"))


@pytest.mark.parametrize("name, roles, code, message", [
    ("analyst-2", [], 400, "choose at least one role"),
    ("admin", ["manager"], 400, "you cannot take the admin role from yourself"),
    ("analyst-2", ["wizard"], 400, "Unknown role: wizard. Nothing was changed."),
    ("ghost", ["manager"], 404, "no user named 'ghost'"),
])
def test_bad_role_changes_are_refused_and_change_nothing(client, auth, new_uow, name, roles, code, message):
    auth.login("admin")
    response = auth.post(f"/admin/users/{name}/roles", data={"roles": roles}, follow_redirects=True)
    assert response.status_code == code
    assert message in text_of(response)
    assert accounts.account(new_uow(), "analyst-2").roles == {"credit-analyst"}
    assert accounts.account(new_uow(), "admin").roles == {"admin"}


def test_only_admins_may_post_user_changes(client, auth, new_uow):
    auth.login("manager")
    response = auth.post("/admin/users/analyst-2/roles", data={"roles": ["admin"]})
    assert response.status_code == 403
    assert accounts.account(new_uow(), "analyst-2").roles == {"credit-analyst"}

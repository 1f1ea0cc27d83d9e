"""Admins find users a page at a time, add one, set their roles, disable and enable them and reset their
password; every user changes their own password. Each change is in the account's history."""

from __future__ import annotations

import re

import pytest

from engine import cli, service
from engine.work import accounts
from tests.web.conftest import Auth, open_task, password_of, start_loan, text_of
from web.throttle import PASSWORD_CHANGE_REFUSED


def test_the_user_list_shows_every_user_with_their_roles_and_a_link_to_edit_each(client, auth):
    auth.login("admin")
    response = client.get("/admin/users")
    html = response.get_data(as_text=True)
    for name in ("admin", "analyst-2", "credit-analyst", "customer-service", "manager", "underwriter"):
        assert f'<th scope="row"><a href="/admin/users/{name}">{name}</a></th>' in html
    assert "analyst-2 credit-analyst Active" in text_of(response)
    assert 'type="checkbox" name="roles" value="credit-analyst" checked' in client.get(
        "/admin/users/analyst-2").get_data(as_text=True)


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
    ({"name": "MANAGER", "password": "long-enough", "roles": ["manager"]},
     "There is already a user named manager, which differs from MANAGER only in capitals; choose another name."),
    ({"name": "newbie", "password": "short", "roles": ["manager"]},
     "This password has 5 characters; it needs 8 to 200."),
    ({"name": "newbie", "password": "", "roles": ["manager"]}, "Enter a password for the new user."),
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


# -- finding users ---------------------------------------------------------------------

def add_staff(new_uow, count: int) -> None:
    for number in range(count):
        service.add_user(new_uow(), f"staff-{number:02d}", ["underwriter" if number % 2 else "sales"],
                         password_of("staff"))


def user_names(response) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/admin/users/[^"]+">([^<]+)</a></th>', response.get_data(as_text=True))


def test_the_user_list_comes_a_page_at_a_time(client, auth, new_uow):
    add_staff(new_uow, 40)  # 47 users in all
    auth.login("admin")
    first = client.get("/admin/users")
    assert len(user_names(first)) == 25
    assert "Page 1 of 2 · 47 users" in text_of(first)
    assert 'href="/admin/users?page=2" rel="next"' in first.get_data(as_text=True)
    second = client.get("/admin/users?page=2")
    assert len(user_names(second)) == 22
    assert set(user_names(first)).isdisjoint(user_names(second))
    assert user_names(first) + user_names(second) == sorted(user_names(first) + user_names(second))


def test_a_search_finds_users_by_part_of_the_name_or_by_role(client, auth, new_uow):
    add_staff(new_uow, 40)
    auth.login("admin")
    assert user_names(client.get("/admin/users?q=STAFF-0")) == [f"staff-0{n}" for n in range(10)]
    by_role = user_names(client.get("/admin/users?q=underwriter"))
    assert by_role == sorted(["underwriter"] + [f"staff-{n:02d}" for n in range(1, 40, 2)])
    assert 'href="/admin/users?q=underwriter&amp;page=2"' not in client.get("/admin/users?q=underwriter").get_data(
        as_text=True)
    assert "No user matches “nobody%”." in text_of(client.get("/admin/users?q=nobody%25"))


@pytest.mark.parametrize("query", ["page=%C2%B2", "page=0", "page=" + "9" * 23, "q=" + "x" * 101])
def test_a_malformed_page_or_search_is_refused(client, auth, query):
    auth.login("admin")
    assert client.get(f"/admin/users?{query}").status_code == 400


# -- one user's page -----------------------------------------------------------------------

def test_setting_roles_on_the_users_page_is_kept_in_their_history(client, auth):
    auth.login("admin")
    response = auth.post("/admin/users/analyst-2/roles", data={"roles": ["underwriter"]})
    assert response.headers["Location"] == "/admin/users/analyst-2"
    page = text_of(client.get("/admin/users/analyst-2"))
    assert "analyst-2 now holds: underwriter." in page
    assert "Roles set: underwriter admin" in page
    assert "User added: credit-analyst the valueflow command" in page


def test_an_unknown_user_has_no_page(client, auth):
    auth.login("admin")
    assert client.get("/admin/users/ghost").status_code == 404
    assert auth.post("/admin/users/ghost/disable").status_code == 404
    assert auth.post("/admin/users/ghost/password").status_code == 404


def second_session(app, name: str, password: str = "") -> Auth:
    other = Auth(app.test_client())
    assert other.login(name, password or None).status_code == 302
    assert other.client.get("/account/password").status_code == 200
    return other


def test_a_disabled_user_cannot_sign_in_and_their_open_session_ends(app, client, auth, new_uow):
    analyst = second_session(app, "analyst-2")
    auth.login("admin")
    response = auth.post("/admin/users/analyst-2/disable")
    assert response.headers["Location"] == "/admin/users/analyst-2"
    page = text_of(client.get("/admin/users/analyst-2"))
    assert "analyst-2 is disabled: they cannot sign in, and their open sessions have ended." in page
    assert "still hold" not in page  # they hold no task
    assert "Disabled admin" in page
    assert "Disabled" in text_of(client.get("/admin/users?q=analyst-2"))

    assert analyst.client.get("/inbox").headers["Location"].startswith("/login")
    refused = analyst.login("analyst-2")
    assert refused.status_code == 403
    assert "Your account is disabled; ask an admin to enable it." in text_of(refused)
    assert "analyst-2" not in accounts.users_with_role(new_uow(), "credit-analyst")

    auth.post("/admin/users/analyst-2/enable")
    assert "Enabled admin" in text_of(client.get("/admin/users/analyst-2"))
    assert analyst.login("analyst-2").status_code == 302
    assert analyst.client.get("/inbox").status_code == 200


def test_a_user_disabled_with_the_valueflow_command_is_signed_out_and_cannot_sign_in(app, client, auth, monkeypatch):
    analyst = second_session(app, "analyst-2")
    monkeypatch.setenv("VALUEFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    assert cli.main(["user", "disable", "analyst-2"]) == 0

    assert analyst.client.get("/inbox").headers["Location"].startswith("/login")
    refused = analyst.login("analyst-2")
    assert refused.status_code == 403
    assert "Your account is disabled; ask an admin to enable it." in text_of(refused)
    auth.login("admin")
    assert "Disabled the valueflow command" in text_of(client.get("/admin/users/analyst-2"))

    assert cli.main(["user", "enable", "analyst-2"]) == 0
    assert analyst.login("analyst-2").status_code == 302


def test_a_users_page_lists_the_open_tasks_they_hold_and_disabling_them_says_a_manager_can_hand_them_on(
        client, auth, new_uow, monkeypatch):
    held = [open_task(new_uow, start_loan(new_uow, f"c-{n}"))["id"] for n in (1, 2)]
    for task_id in held:
        service.claim_task(new_uow(), task_id, "customer-service")
    auth.login("admin")
    page = client.get("/admin/users/customer-service")
    assert "Open tasks customer-service holds (2)" in text_of(page)
    assert all(f'href="/tasks/{task_id}"' in page.get_data(as_text=True) for task_id in held)
    assert "Open tasks analyst-2 holds (0) None." in text_of(client.get("/admin/users/analyst-2"))
    monkeypatch.setattr(accounts, "TASKS_SHOWN", 1)
    page = client.get("/admin/users/customer-service")
    assert "The 1 most urgent:" in text_of(page) and page.get_data(as_text=True).count('href="/tasks/') == 1
    monkeypatch.undo()

    disabled = text_of(auth.post("/admin/users/customer-service/disable", follow_redirects=True))
    assert ("customer-service is disabled: they cannot sign in, and their open sessions have ended. They still hold "
            "2 open tasks (listed below): a manager can release them to their queues or reassign them.") in disabled
    assert "No one works on them while customer-service is disabled" in disabled
    service.release_task(new_uow(), held[0], "manager")
    auth.post("/admin/users/customer-service/enable")
    disabled = text_of(auth.post("/admin/users/customer-service/disable", follow_redirects=True))
    assert ("They still hold 1 open task (listed below): a manager can release it to its queue or reassign it."
            in disabled)


def test_an_admin_cannot_disable_themself(client, auth, new_uow):
    auth.login("admin")
    response = auth.post("/admin/users/admin/disable", follow_redirects=True)
    assert response.status_code == 400
    assert "Nothing was changed for admin: you cannot disable yourself; ask another admin." in text_of(response)
    assert client.get("/admin/users").status_code == 200


def test_a_reset_password_is_shown_once_replaces_the_old_one_and_ends_open_sessions(app, client, auth):
    analyst = second_session(app, "analyst-2")
    auth.login("admin")
    response = auth.post("/admin/users/analyst-2/password")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    [password] = re.findall(r'<code class="secret">([^<]+)</code>', response.get_data(as_text=True))
    again = client.get("/admin/users/analyst-2")
    assert password not in again.get_data(as_text=True)
    assert "Password reset admin" in text_of(again)

    assert analyst.client.get("/inbox").headers["Location"].startswith("/login")
    assert analyst.login("analyst-2").status_code == 401
    assert analyst.login("analyst-2", password).status_code == 302
    assert analyst.client.get("/inbox").status_code == 200


def test_an_admin_resets_no_password_of_their_own_here(auth):
    auth.login("admin")
    response = auth.post("/admin/users/admin/password", follow_redirects=True)
    assert response.status_code == 400
    assert auth.login("admin").status_code == 302


@pytest.mark.parametrize("action", ["disable", "enable", "password"])
def test_only_admins_disable_enable_or_reset(app, auth, action):
    auth.login("manager")
    assert auth.post(f"/admin/users/analyst-2/{action}").status_code == 403
    second_session(app, "analyst-2")


# -- one's own password ----------------------------------------------------------------------

@pytest.mark.parametrize("form, code, message", [
    ({"current": "wrong-one", "new": "a-new-secret", "repeat": "a-new-secret"}, 401,
     "the current password is not right"),
    ({"current": password_of("process-owner"), "new": "a-new-secret", "repeat": "a-new-secreT"}, 400,
     "The new password and its repetition differ"),
    ({"current": password_of("process-owner"), "new": "short", "repeat": "short"}, 400, "needs 8 to 200 characters"),
    ({"current": password_of("process-owner"), "new": password_of("process-owner"),
      "repeat": password_of("process-owner")}, 400, "the new password is the current one"),
])
def test_a_refused_password_change_says_why_and_changes_nothing(client, auth, form, code, message):
    auth.login("process-owner")
    response = auth.post("/account/password", data=form)
    assert response.status_code == code
    assert message in text_of(response)
    auth.logout()
    assert auth.login("process-owner").status_code == 302


def test_any_user_changes_their_own_password_and_keeps_only_this_session(app, client, auth):
    elsewhere = second_session(app, "process-owner")
    auth.login("process-owner")
    assert "Change your password" in text_of(client.get("/account/password"))
    response = auth.post("/account/password", data={"current": password_of("process-owner"),
                                                    "new": "a-new-secret", "repeat": "a-new-secret"})
    assert response.headers["Location"] == "/account/password"
    assert "Your password is changed." in text_of(client.get("/account/password"))
    assert client.get("/processes").status_code == 200
    assert elsewhere.client.get("/processes").headers["Location"].startswith("/login")
    auth.logout()
    assert auth.login("process-owner").status_code == 401
    assert auth.login("process-owner", "a-new-secret").status_code == 302
    auth.logout()
    auth.login("admin")
    assert "Password changed process-owner" in text_of(client.get("/admin/users/process-owner"))


def test_guessing_the_current_password_to_change_it_is_stopped_after_ten_tries(client, auth):
    auth.login("process-owner")
    guess = {"current": "guess-1234", "new": "a-new-secret", "repeat": "a-new-secret"}
    for _ in range(10):
        assert auth.post("/account/password", data=guess).status_code == 401
    refused = auth.post("/account/password", data={**guess, "current": password_of("process-owner")})
    assert refused.status_code == 429
    assert PASSWORD_CHANGE_REFUSED in refused.get_data(as_text=True)
    auth.logout()
    assert auth.login("process-owner").status_code == 302  # the password did not change

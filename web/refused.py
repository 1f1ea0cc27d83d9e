"""Post/Redirect/Get for refused forms: a refused POST answers with a redirect to the form's page, which then
shows the values as typed, each error at its field, and scrolls to the first error; reloading it re-sends
nothing.

What the page needs waits in the signed session cookie for the next visit of that page only. A refusal whose
values are too large for a cookie is answered in place instead, so nothing the user typed is lost.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from flask import redirect, request, session
from flask.typing import ResponseReturnValue

SESSION_KEY = "_refused"
COOKIE_ROOM = 2_000  # characters of kept values; a session cookie holds about 4,000 bytes in all


def back_to(url: str, anchor: str, code: int, render: Callable[[], ResponseReturnValue],
            **kept: Any) -> ResponseReturnValue:
    """A redirect to ``url#anchor`` (the form's page: path and query) whose next visit shows ``kept`` and answers
    ``code``; ``render()``, the page in place, when ``kept`` does not fit the session."""
    if len(json.dumps(kept, default=str)) > COOKIE_ROOM:
        return render()
    session[SESSION_KEY] = {"page": url, "code": code, "kept": kept}
    return redirect(f"{url}#{anchor}", 303)


def taken() -> tuple[dict[str, Any], int]:
    """(what a refused POST kept for this page, the status it deserves); ({}, 200) when nothing waits. Shown once."""
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("page") != request.full_path.rstrip("?"):
        return {}, 200
    session.pop(SESSION_KEY)
    return stored["kept"], stored["code"]

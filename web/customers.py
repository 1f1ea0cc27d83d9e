"""Customer 360: one customer's cases across every process, as a timeline."""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template
from flask.typing import ResponseReturnValue

from engine import service
from engine.work.customers import customer_360
from web import db
from web.auth import login_required, staff_or_manager

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.get("/<customer_id>")
@login_required
def show(customer_id: str) -> ResponseReturnValue:
    staff_or_manager()
    try:
        view = customer_360(db.uow(), customer_id, g.account)
    except service.NotFound as exc:
        abort(404, f"{exc}: check the customer id, or find the customer by name under Cases.")
    except service.NotAllowed as exc:
        abort(403, f"You may not see this customer: {exc}.")
    return render_template("customers/show.html", customer=view)

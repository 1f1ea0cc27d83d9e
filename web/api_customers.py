"""The API's customers: one customer with their cases across every process, as the customer page shows them,
and the same customer's cases page by page; for staff and managers, as the customer page."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from engine.errors import NotAllowed, NotFound
from engine.work import case_pages
from engine.work.customers import customer_360
from engine.work.visibility import sees_every_case
from web import api, db
from web.api_report_schemas import CustomerView
from web.api_schemas import CasePage, Paging

bp = api.blueprint("api_customers", "customers", "Customers: one customer's cases across every process.")
bp.guard(api.staff_or_manager, api.STAFF_OR_MANAGER)
UNSEEN = "none of the customer's cases has a step of your roles or was handled by you"
NO_CUSTOMER = "no customer has this id"


@bp.route("/<customer_id>")
class Customer(MethodView):
    @bp.response(200, CustomerView)
    @bp.refuses(403, UNSEEN)
    @bp.refuses(404, NO_CUSTOMER)
    def get(self, customer_id: str) -> Any:
        """The customer, their open and finished cases, late steps and mean satisfaction, and their newest
        cases with every step: its wait, its work, who handled it and whether it was late."""
        return customer_360(db.uow(), customer_id, g.account)


@bp.route("/<customer_id>/cases")
class CustomerCases(MethodView):
    @bp.arguments(Paging, location="query")
    @bp.response(200, CasePage)
    @bp.refuses(403, UNSEEN)
    @bp.refuses(404, NO_CUSTOMER)
    def get(self, query: dict[str, Any], customer_id: str) -> Any:
        """One page of the customer's cases you may see, newest first."""
        if case_pages.customer(db.uow(), customer_id) is None:
            raise NotFound(f"no customer {customer_id!r}")
        page = case_pages.list_cases(db.uow(), g.account, customer_id=customer_id, page=query["page"],
                                     per_page=query["per_page"])
        if not page["total"] and not sees_every_case(g.account):
            raise NotAllowed(f"none of the cases of customer {customer_id!r} has a step of your roles or was "
                             "handled by you")
        return page

"""The customer's one-time feedback link: a score from 1 to 5 for a finished case, no sign-in."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import service
from engine.work import feedback
from web import db, refused

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
UNKNOWN = ("This feedback link is not valid", "Check that the whole link was copied from the message we sent you. "
           "If it still does not work, the link may have been mistyped; nothing was recorded.")


def _closed(request_: feedback.FeedbackRequest) -> ResponseReturnValue:
    if request_.answered:
        return render_template("feedback/closed.html", title="Thank you, we have your score already",
                               message="This link has been used: a case takes one score, and this case has it "
                                       "(through this link, or given to our staff). Nothing more is needed."), 410
    return render_template("feedback/closed.html", title="This feedback link has expired",
                           message="Links are valid for 30 days and this one is older; nothing was recorded."), 410


@bp.route("/<token>", methods=("GET", "POST"))
def give(token: str) -> ResponseReturnValue:
    try:
        asked = feedback.feedback_request(db.uow(), token)
    except service.NotFound:
        return render_template("feedback/closed.html", title=UNKNOWN[0], message=UNKNOWN[1]), 404
    if not asked.open:
        return _closed(asked)
    if request.method == "GET":
        kept, code = refused.taken()
        return render_template("feedback/give.html", asked=asked, **{"score": "", "comment": "", "error": None,
                                                                   **kept}), code
    score, comment = request.form.get("score", "").strip(), request.form.get("comment", "")

    def refuse(error: str) -> ResponseReturnValue:
        kept = {"score": score, "comment": comment, "error": error}
        return refused.back_to(url_for("feedback.give", token=token), "feedback-error", 400,
                               lambda: (render_template("feedback/give.html", asked=asked, **kept), 400), **kept)

    if score not in {str(n) for n in feedback.SCORES}:
        return refuse("Choose a score from 1 (poor) to 5 (excellent).")
    try:
        feedback.record_feedback_by_token(db.uow(), token, int(score), comment)
    except feedback.BadScore as exc:
        return refuse(f"Your score was not recorded yet: {exc}.")
    except feedback.FeedbackRefused:
        return _closed(feedback.feedback_request(db.uow(), token))
    return render_template("feedback/closed.html", title="Thank you", thanks=True,
                           message=f"Your score of {score} out of 5 for {asked.process_name} is recorded. "
                                   "It helps us see where you waited too long.")

"""The satisfaction score of one case, as the case page shows it (scores are given through engine.work.feedback)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select

from engine.storage.tables import CaseFeedback, FeedbackToken
from engine.storage.uow import UnitOfWork


@dataclass(frozen=True)
class CaseScore:
    """The case's score if it has one, and how many of its one-time links are still open."""

    score: Optional[int]
    comment: Optional[str]
    source: Optional[str]  # "customer" or "staff"
    recorded_by: Optional[str]
    recorded_at: Optional[datetime]
    open_links: int


def case_score(uow: UnitOfWork, instance_id: int) -> CaseScore:
    with uow.reading():
        row = uow.session.get(CaseFeedback, instance_id)
        links = uow.session.scalar(select(func.count()).select_from(FeedbackToken).where(
            FeedbackToken.instance_id == instance_id, FeedbackToken.used_at.is_(None),
            FeedbackToken.expires_at > uow.clock.now())) or 0
        if row is None:
            return CaseScore(None, None, None, None, None, int(links))
        return CaseScore(row.score, row.comment, row.source, row.recorded_by, row.recorded_at, int(links))

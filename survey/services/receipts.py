"""Whether a browser really submitted a response at a collection point (the thanks page).

The thanks page says "submitted" only to the browser whose response was submitted there:
anyone else who opens ``/s/<token>/thanks`` gets a plain message.  The browser is
recognised by the keyed hash of its id cookie, as the responses store it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.models import Response


def submitted_by_browser(session: Session, *, point_id: int, respondent_hash: str) -> bool:
    """True when the browser of ``respondent_hash`` submitted a response at the point."""
    found = session.scalar(
        select(Response.id)
        .where(
            Response.point_id == point_id,
            Response.respondent_hash == respondent_hash,
            Response.state == "submitted",
        )
        .limit(1)
    )
    return found is not None

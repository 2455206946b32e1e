"""The district's local time (Beijing time): for display and for times people type.

Every time is stored and compared as aware UTC (:class:`survey.models.UTCDateTime`).
People read and type Beijing time: the admin screens, the command line and the resident
pages all convert here, with the zone of the app's ``BABEL_DEFAULT_TIMEZONE`` (the same
setting Flask-Babel's ``dateformat`` filters use), ``Asia/Shanghai`` by default.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from scoring.vocabulary import TIME_ZONE

#: The district's zone by default (:data:`scoring.vocabulary.TIME_ZONE`).
DISTRICT_TIMEZONE = TIME_ZONE
_TYPED_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def district_zone() -> ZoneInfo:
    """The zone people read times in (the app's ``BABEL_DEFAULT_TIMEZONE``)."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or DISTRICT_TIMEZONE)


def to_local(moment: dt.datetime | None) -> dt.datetime | None:
    """An aware time in the district's zone (None stays None)."""
    return None if moment is None else moment.astimezone(district_zone())


def format_local(moment: dt.datetime | None, *, seconds: bool = False, closing: bool = False, empty: str = "—") -> str:
    """A stored time as people read it, e.g. ``2025-06-01 09:30`` (``empty`` for none).

    With ``closing``, a closing time at midnight reads as 24:00 of the day before, so a
    wave closing "at the end of 31 December" prints as ``2025-12-31 24:00``.
    """
    local = to_local(moment)
    if local is None:
        return empty
    if closing and local.time() == dt.time():
        return (local - dt.timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def local_to_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A time typed without an offset (a form field) read as Beijing time, as aware UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=district_zone())
    return moment.astimezone(dt.UTC)


def parse_local(text: str, *, end_of_day: bool = False) -> dt.datetime:
    """A typed date or time as aware UTC.

    Accepts ``2025-03-01`` (the start of that day, or with ``end_of_day`` the end of it,
    so that "closes 2025-12-31" keeps a wave open all of 31 December), ``2025-03-01 08:00``
    or ISO 8601 with an offset.  Times without an offset are Beijing time.

    Raises
    ------
    ValueError
        The text is no date or time; the message shows the accepted forms.
    """
    cleaned = text.strip()
    try:
        day = dt.date.fromisoformat(cleaned)
    except ValueError:
        pass
    else:
        start = dt.datetime.combine(day, dt.time(), tzinfo=district_zone())
        return (start + dt.timedelta(days=1) if end_of_day else start).astimezone(dt.UTC)
    moment: dt.datetime | None
    try:
        moment = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        moment = None
        for pattern in _TYPED_FORMATS:
            try:
                moment = dt.datetime.strptime(cleaned, pattern)
                break
            except ValueError:
                continue
    if moment is None:
        raise ValueError(f"{text!r} is not a date or time; use e.g. 2025-03-01 or '2025-03-01 08:00' (Beijing time)")
    result = local_to_utc(moment)
    assert result is not None
    return result

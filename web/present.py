"""How engine values read on a page: durations, times, urgency, value classes, case data.

Registered as Jinja filters, so templates only place values; no rules live in templates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Mapping, Optional, Union
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask.templating import Environment

from engine.time import written
from engine.time.durations import spoken

URGENCY_WORDS = {"on_track": "On track", "at_risk": "At risk", "breached": "Breached", "none": "No target"}
VALUE_CLASSES = {
    "VA": ("Value-adding", "the customer would pay for this step"),
    "BVA": ("Business value-adding", "required by the business or a regulator"),
    "NVA": ("Non-value-adding", "waste the process should remove"),
}


def duration(seconds: Optional[int]) -> str:
    """``45 min``, ``2 h 05 min``, ``3 d 4 h``; under a minute is ``< 1 min``."""
    return "—" if seconds is None else spoken(seconds)


Targets = Union[None, int, Iterable[Any]]
UNITS = (("d", 86400, None), ("h", 3600, 24), ("min", 60, 60), ("s", 1, 60))


def duration_beside(seconds: Optional[float], targets: Targets) -> str:
    """``duration`` of a figure shown beside its target, or each version's, to the unit it takes for a figure
    that is not a target never to read as one (``1 d 0 h 26 min`` beside ``1 d``, where ``duration`` says ``1 d``)."""
    given = target_values(targets)
    if seconds is None or not given:
        return duration(seconds)
    value = math.ceil(abs(seconds))  # a fraction of a second over a target is over it
    usual = _usual_finest(value)
    finest = max([usual] + [_exact_finest(t) for t in given])
    while finest < len(UNITS) - 1 and any(value != t and _spelled(value, finest) == _spelled(t, finest)
                                          for t in given):
        finest += 1
    return duration(value) if finest == usual else _spelled(value, finest)


def target_values(targets: Targets) -> list[int]:
    """The distinct targets set, in seconds."""
    return sorted({seconds for _, seconds in _by_version(targets) if seconds})


def single_target(targets: Targets) -> Optional[int]:
    """The target when every version in view sets the same one; None when they differ or set none."""
    values = {seconds for _, seconds in _by_version(targets)}
    return values.pop() if len(values) == 1 else None


def targets_text(targets: Targets, none: str = "—") -> str:
    """``2 d``, or ``v2 4 h 00 min · v1 2 d`` when the versions in view set different targets."""
    pairs = _by_version(targets)
    if len({seconds for _, seconds in pairs}) < 2:
        one = single_target(targets)
        return exact_duration(one) if one else none
    return " · ".join(f"v{version} {exact_duration(seconds) if seconds else 'none'}" for version, seconds in pairs)


def segment_targets_text(segment_targets: Mapping[str, int]) -> str:
    """``premium 2 h 00 min · basic 6 h 00 min``: the segments measured against a target of their own."""
    return " · ".join(f"{segment} {exact_duration(seconds)}" for segment, seconds in segment_targets.items())


def _by_version(targets: Targets) -> list[tuple[Optional[int], Optional[int]]]:
    """(version, seconds) of each version's target (engine.analytics.filters.VersionTarget); one pair without a
    version for a lone target in seconds."""
    if targets is None or isinstance(targets, (int, float)):
        return [(None, int(targets) if targets else None)]
    return [(t.version, t.seconds) for t in targets]


def exact_duration(seconds: Optional[int]) -> str:
    """``duration`` of a target, down to its last unit (``1 d 1 h 30 min``, where ``duration`` says ``1 d 1 h``)."""
    if not seconds:
        return duration(seconds)
    value = abs(int(seconds))
    finest = _exact_finest(value)
    return duration(value) if finest <= _usual_finest(value) else _spelled(value, finest)


def _usual_finest(seconds: int) -> int:
    """The last unit ``duration`` shows: hours beside days, minutes otherwise."""
    return 1 if seconds >= 86400 else 2


def _exact_finest(seconds: int) -> int:
    """The last unit it takes to spell ``seconds`` exactly."""
    return next(i for i, (_, size, _) in enumerate(UNITS) if seconds % size == 0)


def _spelled(seconds: int, finest: int) -> str:
    """``seconds`` from its largest unit down to ``UNITS[finest]``, rounded down: ``1 d 0 h 26 min``."""
    parts: list[str] = []
    for i, (name, size, modulo) in enumerate(UNITS[:finest + 1]):
        amount = seconds // size if not parts or modulo is None else seconds // size % modulo
        if parts or amount or i == finest:
            parts.append(f"{amount:02d} {name}" if parts and size < 3600 else f"{amount} {name}")
    return " ".join(parts)


def when(moment: Optional[Any]) -> str:
    """A moment in the app's time zone: ``Mon 5 Jan 2026, 09:00``."""
    if moment is None:
        return "—"
    return written.moment(_local(moment))


def day(moment: Optional[Any]) -> str:
    """The date of a moment in the app's time zone: ``5 Jan 2026``."""
    if moment is None:
        return "—"
    return written.calendar_date(_local(moment))


def _local(moment: datetime | str) -> datetime:
    """A datetime (or its ISO text, as the engine's views give it) in the app's time zone."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def iso(moment: Optional[Any]) -> str:
    if moment is None:
        return ""
    return moment if isinstance(moment, str) else moment.isoformat()


def urgency_word(urgency: Optional[dict[str, Any]]) -> str:
    return URGENCY_WORDS[urgency["state"]] if urgency else ""


def time_left(urgency: Optional[dict[str, Any]]) -> str:
    """``3 h 20 min left`` or ``1 h 05 min over``."""
    if not urgency or urgency["seconds_left"] is None:
        return "no target set"
    left = urgency["seconds_left"]
    return f"{duration(left)} left" if left > 0 else f"{duration(-left)} over"


def value_class_name(code: Optional[str]) -> str:
    return VALUE_CLASSES.get(code or "", ("Not classified", ""))[0]


def value_class_meaning(code: Optional[str]) -> str:
    return VALUE_CLASSES.get(code or "", ("", "no value class set"))[1]


def humanize(name: Any) -> str:
    """``loan_to_income`` → ``Loan to income``; ``approve_with_conditions`` → ``Approve with conditions``."""
    return capital(str(name).replace("_", " ").replace("-", " ").strip())


def capital(text: Any) -> str:
    """The first letter capital, the rest as written: ``API token made`` (Jinja's ``capitalize`` says ``Api``)."""
    text = str(text)
    return text[:1].upper() + text[1:]


def event_name(kind: Any) -> str:
    """A case event's kind in the page's words: ``instance_started`` → ``Case started``."""
    text = str(kind)
    return humanize("case" + text[len("instance"):] if text.startswith("instance_") else text)


def show_value(value: Any) -> str:
    """A single value for people: Yes/No, numbers with thousands separators, dates and moments as the pages write
    them (a moment without a time zone as it was given), the rest as text."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
    if isinstance(value, datetime):
        return when(value) if value.tzinfo else written.moment(value)
    if isinstance(value, date):
        return written.calendar_date(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


FOLD_AFTER = 200        # characters of a value shown before the rest is folded away
NESTING_SHOWN = 4       # levels of nested objects drawn as fields; deeper ones read as compact JSON


@dataclass
class Shown:
    """One field of case data as a page draws it: a value (folded when long) or the fields nested in it."""

    label: str
    text: str = ""
    parts: list["Shown"] = field(default_factory=list)

    @property
    def folded(self) -> bool:
        return len(self.text) > FOLD_AFTER

    @property
    def preview(self) -> str:
        return self.text[:FOLD_AFTER]


def case_fields(data: dict[str, Any], labels: Optional[dict[str, str]] = None,
                specs: Optional[Mapping[str, Mapping[str, Any]]] = None) -> list[Shown]:
    """Case data as labelled fields: objects become nested fields, lists of plain values a comma list, a form's
    choice (``specs``: the field's ``enum`` and ``x-labels``) the words the form offers it in, and a form's date
    (``specs``: its ``format``) as the pages write dates."""
    shown = []
    for k, v in data.items():
        label, spec = (labels or {}).get(str(k)) or humanize(k), (specs or {}).get(str(k)) or {}
        chosen = not isinstance(v, (bool, dict, list)) and v in spec.get("enum", [])
        if chosen:
            shown.append(Shown(label, choice_label(v, spec)))
        elif isinstance(v, str) and spec.get("format") in ("date", "date-time"):
            shown.append(Shown(label, _written_date(v, spec["format"])))
        else:
            shown.append(_shown(label, v, 1))
    return shown


def _written_date(text: str, form_format: str) -> str:
    """A form's date (``2026-12-21``) or date and time as the pages write them; the text when it is neither."""
    try:
        value = date.fromisoformat(text) if form_format == "date" else datetime.fromisoformat(text)
    except ValueError:
        return text
    return show_value(value)


def choice_label(value: Any, spec: Mapping[str, Any]) -> str:
    """A choice's label: the one its form gives (``x-labels``, as forms from other tools keep them), or the value
    made readable."""
    labels = spec.get("x-labels")
    if isinstance(labels, dict) and isinstance(labels.get(str(value)), str):
        return labels[str(value)]
    return capital(str(value).replace("_", " "))


def _shown(label: str, value: Any, depth: int) -> Shown:
    if depth <= NESTING_SHOWN:
        if isinstance(value, dict) and value:
            return Shown(label, parts=[_shown(humanize(k), v, depth + 1) for k, v in value.items()])
        if isinstance(value, list) and any(isinstance(item, (list, dict)) for item in value):
            return Shown(label, parts=[_shown(f"{n}.", item, depth + 1) for n, item in enumerate(value, 1)])
        if isinstance(value, list):
            return Shown(label, ", ".join(show_value(item) for item in value) or "—")
    if isinstance(value, dict) and not value:
        return Shown(label, "—")
    return Shown(label, show_value(value))


def sentence(text: Any) -> str:
    """An engine message as a sentence: capital first letter, a full stop at the end (ids left as they are)."""
    text = str(text).strip()
    if not text:
        return ""
    text = capital(text)
    return text if text[-1] in ".!?" else text + "."


def percent(share: Optional[float]) -> str:
    """A share from 0 to 1 as ``67 %``; ``—`` when there is nothing to divide."""
    return "—" if share is None else f"{share * 100:.0f} %"


def money(amount: Optional[float], currency: Optional[str] = None) -> str:
    """``1,234.50 EUR`` in the operator's currency (VALUEFLOW_CURRENCY), ``1,234.50`` when none is set (the
    rates are then in whichever currency the admin typed them in); ``—`` for none."""
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency}" if currency else f"{amount:,.2f}"


def money_label(label: str, currency: Optional[str] = None) -> str:
    """A heading or label of sums of money with its currency: ``Per hour (EUR)``; as it is when none is set."""
    return f"{label} ({currency})" if currency else label


def currency() -> Optional[str]:
    """The currency sums of money are shown in (VALUEFLOW_CURRENCY), or None."""
    return current_app.config["CURRENCY"]


_DICT_ATTRIBUTES = frozenset(dir(dict))


class PageEnvironment(Environment):
    """Flask's Jinja environment, reading ``row.name`` from a plain dict by its key at once.

    The engine's views are dicts. Jinja tries the attribute first and takes the key after the AttributeError,
    which cost the inbox's 25 rows about a fifth of their rendering. A plain dict has no attribute but its type's,
    so for any other name the key is what Jinja would find: only the time changes.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        duration=duration, when=when, day=day, iso=iso, urgency_word=urgency_word, time_left=time_left,
        duration_beside=duration_beside, exact_duration=exact_duration, targets_text=targets_text,
        segment_targets_text=segment_targets_text,
        single_target=single_target, value_class_name=value_class_name, value_class_meaning=value_class_meaning,
        humanize=humanize, capital=capital, event_name=event_name, show_value=show_value, percent=percent, money=money,
        money_label=money_label, sentence=sentence)
    app.context_processor(navigation)


def navigation() -> dict[str, Any]:
    """The top bar's links for the signed-in user, the current one marked."""
    from flask import g, request, url_for

    account = g.get("account")
    if account is None:
        return {"nav": []}
    items = []
    if account.staff_roles or account.is_manager:
        items += [("Inbox", "inbox.index", "inbox"), ("Cases", "instances.index", "instances")]
    items.append(("Processes", "processes.index", "processes"))
    if account.reads_dashboards:
        items.append(("Dashboards", "dashboard.index", "dashboard"))
    if account.edits_processes:
        items.append(("Incidents", "incidents.index", "incidents"))
    if account.is_admin:
        items.append(("Users", "admin.users", "admin"))
        items.append(("Audit", "audit.index", "audit"))
    return {"nav": [{"label": label, "url": url_for(endpoint), "current": request.blueprint == blueprint}
                    for label, endpoint, blueprint in items],
            "searchable": bool(account.staff_roles or account.is_manager)}

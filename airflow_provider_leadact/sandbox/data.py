"""Deterministic synthetic leads and activities in LeadSquared's raw API shape.

Everything derives from one ``random.Random(seed)``: the same arguments give byte-identical
data on every machine and at any time, so tests and benchmarks can compare what a client
fetched against :meth:`Dataset.lead` without storing fixtures.

The data deliberately covers every shape described in ``API_NOTES.md``: ``Data`` as a
key/value list and as a plain object, JSON-encoded custom object fields with file names,
call notes packed as ``Key{=}Value{next}...``, stage changes, email activities, null
values, and unicode (Devanagari, CJK, Arabic, accents, emoji, quotes, commas, newlines).

It is a history over many days: a lead's activities spread from the window's start to the
lead's last change, and some activities are edited (``ActivityScore`` goes up by one) minutes
or days after they were created, so their ``ModifiedOn`` lies on a later day than their
``CreatedOn``. ``CreatedOn`` is the date a user gave the activity, to the minute: a share of
activities is backdated (a call logged a day late) or dated ahead of the time the system wrote
it, which is its first ``ModifiedOn``; an activity neither edited nor dated by hand has
``ModifiedOn`` equal to ``CreatedOn``. Every write that left ``ModifiedOn`` apart from
``CreatedOn`` (an edit, or a hand-dated activity's creation) is kept as a change record, the
answer of "Get Activity Change History". The data set can be edited after generation
(:meth:`Dataset.edit`), as users of a live account do.
"""

from __future__ import annotations

import bisect
import json
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

#: Format of every LeadSquared date (always UTC).
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Prefix that ``getFileURL=true`` puts before a file name uploaded to a custom object.
FILE_URL_BASE = "https://sandbox.leadsquared.invalid/files/"
#: Event codes present in the data, with their names.
EVENT_NAMES: dict[int, str] = {
    12: "Email Opened",
    21: "Page Visited on Website",
    22: "Stage Change",
    164: "Custom Object Activity",
    201: "Follow Up Scheduled",
    206: "Inbound Phone Call Activity",
    207: "Outbound Phone Call Activity",
    2000: "Payment Received",
}
#: The keys of every activity, in the documented order.
ACTIVITY_KEYS: tuple[str, ...] = (
    "Id",
    "EventCode",
    "EventName",
    "ActivityScore",
    "CreatedOn",
    "ActivityType",
    "IsEmailType",
    "Type",
    "SessionId",
    "TrackLocation",
    "Latitude",
    "Longitude",
    "RelatedProspectId",
    "Data",
    "ActivityFields",
    "ModifiedOn",
)

# Relative frequency of each event code; page visits and emails dominate, as in real accounts.
_EVENT_WEIGHTS: dict[int, int] = {
    12: 15, 21: 25, 22: 10, 164: 10, 201: 10, 206: 11, 207: 11, 2000: 8,
}  # fmt: skip
# Seeds the hand-dating of activities apart from the data's own draws, so the rest of the
# data is the same whatever share is hand-dated.
_DATING_SALT = 0xDA7E
# How far a hand-dated activity's CreatedOn lies from when the system wrote it, in seconds.
_BACKDATED_BY = (600, 2 * 86400)
_AHEAD_BY = (600, 4 * 3600)
# The two sizes above a thousand: one past the usual 1000-row cap by a little, one by half.
_HUGE_COUNTS = (1037, 1500)
# A file name as LeadSquared stores it inside a custom object field (comma-separated list).
_FILE_NAME = re.compile(r"[^,/\\]+\.(?:png|jpe?g|pdf|docx?|xlsx)", re.IGNORECASE)

_FIRST_NAMES = (
    "Aarav", "राहुल", "प्रिया", "Ananya", "José", "Zoë", "François", "Søren", "王", "さくら",
    "Seán", "Chloé", "Mohammed", "Olga", "Ngozi", "D'Arcy", "Lakshmi", "Björn", "Thị Mai",
    "Fatima", "Emily", "Kenji", "지우", "Ayesha", "Zoe\u0308",  # decomposed umlaut on purpose
)  # fmt: skip
_LAST_NAMES = (
    "Sharma", "शर्मा", "Núñez", "O'Brien", "Müller", "Łukasiewicz", "芳", "山田", "Smith, Jr.",
    "Nguyễn", "Kowalski", "Iyer", "Dubois", "Okafor", "Tanaka", "김", "Khan", "Johansson",
    "Reddy", "García-López", "\"Bunty\" Singh",
)  # fmt: skip
_USERS = (
    "Mangesh V. Devikar", "Priya Nair", "अमित कुमार", "陈伟", "Siobhán Ní Bhriain",
    "José Álvarez", "Chidi O'Connor",
)  # fmt: skip
_STAGES = (
    "Prospect", "Contacted", "Qualified", "Opportunity", "Customer", "Lost",
    "Nurture \u2013 Hot \U0001f525", "संभावित ग्राहक",
)  # fmt: skip
_EMAIL_SUBJECTS = (
    "Your demo is confirmed \u2705",
    "आपका ऑफ़र तैयार है",
    'Re: "Pricing, plans & next steps"',
    "\u3010重要\u3011ご契約内容のご案内",
    "Caf\u00e9 menu \u2013 20% off this week",
    "Welcome aboard \U0001f680",
    "Invoice #4821, due 2025-02-01",
)
_PAGES = (
    ("https://www.example.com/pricing", "Pricing \u2013 Plans for every team"),
    ("https://www.example.com/demo?utm_source=google&utm_campaign=q1", "Book a demo"),
    ("https://www.example.com/hi/offers", "ऑफ़र और छूट"),
    ("https://www.example.com/ja/contact", "お問い合わせ"),
    ("https://www.example.com/blog/why-crm", "Why a CRM? 5 reasons, explained"),
)
_NOTES = (
    "Called back, discussed pricing; lead wants a demo \U0001f44d",
    "ग्राहक ने कहा कि वह अगले हफ्ते फिर से संपर्क करेंगे",
    "客户对价格有疑问\uff0c下周再联系",
    'Said "not now", call again in March,\nprefers WhatsApp',
    "Multi-line note\r\nsecond line\r\nthird line with a tab\tinside",
    "Caf\u00e9 owner \u2013 wants 3 seats, pays in \u20ac; asked for 50% off {promo}",
    "سيتصل العميل غدا",
    "Left voicemail \U0001f4de\U0001f937",
    "",
)
_PRODUCTS = ("Starter", "Growth", "Enterprise \u2b50", "एंटरप्राइज़", "Add-on: SMS, WhatsApp")
_CITIES = (  # (latitude, longitude, currency, symbol)
    (19.0760, 72.8777, "INR", "\u20b9"),
    (12.9716, 77.5946, "INR", "\u20b9"),
    (1.3521, 103.8198, "SGD", "S$"),
    (53.3498, -6.2603, "EUR", "\u20ac"),
    (43.6532, -79.3832, "CAD", "C$"),
)
_UNICODE_FILES = ("Aadhaar कार्ड.pdf", "contrat_sign\u00e9.pdf", "身分証明書.jpg")


@dataclass
class Lead:
    """One lead and its activities.

    :ivar lead_id: the lead's ProspectID, a lowercase GUID.
    :ivar first_name: first name (may be non-Latin).
    :ivar last_name: last name (may contain quotes, commas, non-Latin scripts).
    :ivar email: email address.
    :ivar phone: phone number.
    :ivar modified_on: when the lead last changed, ``YYYY-MM-DD HH:MM:SS`` UTC; never
        earlier than any of its activities' ``ModifiedOn``.
    :ivar activities: raw activities as the API returns them, newest first.
    """

    lead_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    modified_on: str
    activities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Dataset:
    """Every lead the sandbox serves, in a stable order, and the history of edits.

    Edits replace an activity's dict rather than change it, so a page already handed out
    keeps the values it was built from.

    :ivar leads: the leads, in generation order.
    :ivar seed: the seed the data came from.
    :ivar start: first day of the data's time window.
    :ivar days: length of the time window in days.
    :ivar changes: change records in the flat shape of "Get Activity Change History", in the
        order the edits happened.
    """

    leads: list[Lead]
    seed: int = 7
    start: str = "2025-01-01"
    days: int = 14
    changes: list[dict[str, Any]] = field(default_factory=list)
    _by_id: dict[str, Lead] = field(init=False, repr=False, compare=False)
    _activity_at: dict[str, tuple[Lead, int]] = field(init=False, repr=False, compare=False)
    _by_time: dict[str, tuple[list[str], list[dict[str, Any]]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id = {lead.lead_id: lead for lead in self.leads}
        self._activity_at = {
            item["Id"]: (lead, position) for lead in self.leads for position, item in enumerate(lead.activities)
        }
        self._by_time = {}

    def between(self, column: str, lower: str, upper: str) -> list[dict[str, Any]]:
        """Return the activities whose ``column`` lies in ``[lower, upper]``, ordered by it, ties by ``Id``.

        Served from an index by time, kept until the next edit, so a listing of a large account
        costs a slice, not a scan. The dicts are the stored ones: do not modify them.

        :param column: ``"CreatedOn"`` or ``"ModifiedOn"``.
        :param lower: first time included, ``YYYY-MM-DD HH:MM:SS``.
        :param upper: last time included.
        """
        index = self._by_time.get(column)
        if index is None:
            ordered = sorted(self.activities(), key=lambda item: (item[column], item["Id"]))
            index = self._by_time[column] = ([item[column] for item in ordered], ordered)
        keys, items = index
        return items[bisect.bisect_left(keys, lower) : bisect.bisect_right(keys, upper)]

    def activities(self) -> list[dict[str, Any]]:
        """Return every activity of every lead (the stored dicts: do not modify them)."""
        return [item for lead in self.leads for item in lead.activities]

    def activity(self, activity_id: str) -> dict[str, Any] | None:
        """Return the stored activity with this id (case-insensitive), or ``None``.

        :param activity_id: an activity GUID.
        """
        where = self._activity_at.get(activity_id.lower())
        return None if where is None else where[0].activities[where[1]]

    def edit(self, activity_id: str, at: str, by: str = "Sandbox User") -> dict[str, Any]:
        """Edit an activity at time ``at``: its score goes up by one, ``ModifiedOn`` becomes ``at``.

        The lead's ``modified_on`` moves to ``at`` too when that is later, and a change record
        is appended to :attr:`changes`.

        :param activity_id: the activity's GUID.
        :param at: the edit's time, ``YYYY-MM-DD HH:MM:SS`` UTC, not before the activity's
            ``ModifiedOn``.
        :param by: the name of the user who edited it.
        :return: the change record.
        :raises KeyError: for an unknown activity.
        :raises ValueError: when ``at`` is earlier than the activity's ``ModifiedOn``.
        """
        lead, position = self._activity_at[activity_id.lower()]
        before = lead.activities[position]
        if at < before["ModifiedOn"]:
            raise ValueError(f"an edit at {at} would go back before ModifiedOn {before['ModifiedOn']}")
        after = {**before, "ActivityScore": before["ActivityScore"] + 1, "ModifiedOn": at}
        lead.activities[position] = after
        self._by_time.clear()
        lead.modified_on = max(lead.modified_on, at)
        change = change_record(before, after, by)
        self.changes.append(change)
        return change

    def add(self, activity: dict[str, Any]) -> None:
        """Serve one more activity: under its ``RelatedProspectId``, a lead created when new.

        The activity is stored as given (e.g. an example from the API documentation, numbers
        as strings included); it takes its place in its lead's history, newest first.

        :param activity: the activity in the API's shape, with ``Id``, ``RelatedProspectId``,
            ``CreatedOn`` and ``ModifiedOn``.
        :raises ValueError: when a field is missing or an activity with the same ``Id`` exists.
        """
        missing = [key for key in ("Id", "RelatedProspectId", "CreatedOn", "ModifiedOn") if not activity.get(key)]
        if missing:
            raise ValueError(f"an added activity needs {', '.join(missing)}")
        if str(activity["Id"]).lower() in self._activity_at:
            raise ValueError(f"activity {activity['Id']} exists already")
        lead_id = str(activity["RelatedProspectId"]).lower()
        lead = self._by_id.get(lead_id)
        if lead is None:
            lead = Lead(lead_id, "", "", "", "", activity["ModifiedOn"])
            self.leads.append(lead)
            self._by_id[lead_id] = lead
        lead.activities.append(activity)
        lead.activities.sort(key=lambda item: (item["CreatedOn"], item["Id"]), reverse=True)
        lead.modified_on = max(lead.modified_on, activity["ModifiedOn"])
        for position, item in enumerate(lead.activities):
            self._activity_at[str(item["Id"]).lower()] = (lead, position)
        self._by_time.clear()

    def lead(self, lead_id: str) -> Lead | None:
        """Return the lead with this id (case-insensitive, as GUIDs are), or ``None``.

        :param lead_id: a lead GUID.
        """
        return self._by_id.get(lead_id.lower())

    def lead_ids(self) -> list[str]:
        """Return every lead id, in data set order."""
        return [lead.lead_id for lead in self.leads]

    @property
    def activity_count(self) -> int:
        """Total number of activities over all leads."""
        return sum(len(lead.activities) for lead in self.leads)


def generate_dataset(
    seed: int = 7,
    leads: int = 60,
    start: str = "2025-01-01",
    days: int = 14,
    *,
    backdated: float = 0.0,
    dated_ahead: float = 0.0,
) -> Dataset:
    """Generate the sandbox's leads and activities, deterministically from ``seed``.

    With the default 60 leads the activity counts include several leads with none, many
    with 1 to 60, some with 100 to 400 and exactly two with more than a thousand (1037 and
    1500); smaller data sets scale down (the two large leads exist only from 20 leads on).

    :param seed: seed of the only random generator used.
    :param leads: number of leads.
    :param start: first day of the time window, ``YYYY-MM-DD`` (UTC).
    :param days: length of the time window; every date falls in ``[start, start + days)``.
    :param backdated: share of activities whose ``CreatedOn`` lies before the system wrote them.
    :param dated_ahead: share of activities whose ``CreatedOn`` lies after it.
    :return: the data set.
    :raises ValueError: for a negative lead count, a non-positive day count or a bad date.
    """
    if leads < 0:
        raise ValueError(f"leads must not be negative, got {leads}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    try:
        origin = datetime.strptime(start, "%Y-%m-%d")
    except (TypeError, ValueError):
        raise ValueError(f"start must be a YYYY-MM-DD date, got {start!r}") from None
    generator = _Generator(random.Random(seed), origin, days)
    generator.dating = (random.Random(seed ^ _DATING_SALT), backdated, dated_ahead)
    counts = generator.activity_counts(leads)
    return Dataset(
        leads=[generator.lead(index, count) for index, count in enumerate(counts)],
        seed=seed,
        start=start,
        days=days,
        changes=sorted(generator.changes, key=lambda item: (item["ModifiedOn"], item["ActivityId"])),
    )


def change_record(before: dict[str, Any], after: dict[str, Any], by: str) -> dict[str, Any]:
    """Return the change record of one edit, as "Get Activity Change History" lists it.

    :param before: the activity before the edit.
    :param after: the activity after the edit.
    :param by: the name of the user who edited it.
    """
    changed = sorted(key for key in after if key != "ModifiedOn" and after[key] != before.get(key))
    return {
        "ActivityId": after["Id"],
        "RelatedProspectId": after["RelatedProspectId"],
        "ActivityEvent": after["EventCode"],
        "CreatedOn": after["CreatedOn"],
        "ModifiedOn": after["ModifiedOn"],
        "ModifiedByName": by,
        "OldValue": {key: before.get(key) for key in changed},
        "NewValue": {key: after[key] for key in changed},
    }


def with_file_urls(activity: dict[str, Any]) -> dict[str, Any]:
    """Return ``activity`` as ``getFileURL=true`` shows it: file names become URLs.

    Only file names inside JSON-encoded custom object fields of ``ActivityFields`` change.
    The input is never modified; an activity without files is returned as is.

    :param activity: a raw activity.
    """
    fields = activity.get("ActivityFields")
    if not isinstance(fields, dict):
        return activity
    changed: dict[str, str] = {}
    for key, value in fields.items():
        if not (isinstance(value, str) and value.startswith("{")):
            continue
        try:
            decoded = json.loads(value)
        except ValueError:
            continue
        if not isinstance(decoded, dict):
            continue
        rewritten = {name: _file_names_to_urls(inner) for name, inner in decoded.items()}
        if rewritten != decoded:
            changed[key] = compact_json(rewritten)
    if not changed:
        return activity
    return {**activity, "ActivityFields": {**fields, **changed}}


def compact_json(value: Any) -> str:
    """Encode ``value`` the way LeadSquared embeds JSON in a string field (no spaces).

    :param value: any JSON-serialisable value.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _file_names_to_urls(value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    names = value.split(",")
    if not all(_FILE_NAME.fullmatch(name) for name in names):
        return value
    return ",".join(FILE_URL_BASE + quote(name) for name in names)


def _ascii_slug(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in decomposed.lower() if char.isalnum())


class _Generator:
    """Draws leads and activities from one random generator, in a fixed order."""

    def __init__(self, rng: random.Random, origin: datetime, days: int) -> None:
        self.rng = rng
        self.origin = origin
        self.span = days * 86400
        self.owners = [self.guid() for _ in _USERS]
        self.changes: list[dict[str, Any]] = []
        #: (its own generator, share backdated, share dated ahead)
        self.dating: tuple[random.Random, float, float] = (random.Random(0), 0.0, 0.0)

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def stamp(self, offset: int) -> str:
        return (self.origin + timedelta(seconds=offset)).strftime(TIME_FORMAT)

    def activity_counts(self, leads: int) -> list[int]:
        rng = self.rng
        huge = list(_HUGE_COUNTS) if leads >= 20 else []
        big = max(1, round(leads / 12)) if leads >= 10 else 0
        empty = max(1, round(leads / 10)) if leads >= 3 else 0
        rest = leads - len(huge) - big - empty
        # Page-boundary sizes (exactly one default page, one more than it) when room allows.
        boundary = [25, 26, 1] if rest >= 4 else []
        counts = (
            huge
            + [rng.randint(100, 400) for _ in range(big)]
            + [0] * empty
            + boundary
            + [rng.randint(1, 60) for _ in range(rest - len(boundary))]
        )
        rng.shuffle(counts)
        return counts

    def lead(self, index: int, count: int) -> Lead:
        rng = self.rng
        lead_id = self.guid()
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        local = ".".join(part for part in (_ascii_slug(first), _ascii_slug(last)) if part)
        lead = Lead(
            lead_id=lead_id,
            first_name=first,
            last_name=last,
            email=f"{local or 'lead'}.{index + 1}@example.com",
            phone=f"+91-{rng.randint(6_000_000_000, 9_999_999_999)}",
            modified_on="",
        )
        # The lead's last change; its activities all happen (and are edited) before it. The
        # larger of two draws: most leads stay active over most of the window, while last
        # changes still spread over every part of it.
        last_change = max(rng.randrange(self.span), rng.randrange(self.span))
        lead.modified_on = self.stamp(last_change)
        offsets = sorted(rng.randint(0, last_change) for _ in range(count))
        codes = rng.choices(list(_EVENT_WEIGHTS), weights=list(_EVENT_WEIGHTS.values()), k=count)
        stage = "Prospect"
        activities = []
        for offset, code in zip(offsets, codes, strict=True):  # oldest first, so stages chain up
            activity, stage = self.activity(lead, code, offset, last_change, stage)
            activities.append(activity)
        activities.sort(key=lambda item: (item["CreatedOn"], item["Id"]), reverse=True)
        lead.activities = activities
        return lead

    def activity(self, lead: Lead, code: int, offset: int, last_change: int, stage: str) -> tuple[dict[str, Any], str]:
        rng = self.rng
        activity_id = self.guid()
        roll = rng.random()
        if roll < 0.6:  # never edited
            edited = offset
        elif roll < 0.8:  # corrected within two hours
            edited = min(last_change, offset + rng.randint(1, 7200))
        else:  # edited days later, or at the latest on the lead's last change
            later = offset + rng.randint(86400, 6 * 86400)
            edited = later if later <= last_change else rng.randint(offset, last_change)
        session_roll = rng.random()
        session: str | None = activity_id
        if session_roll >= 0.75:
            session = self.guid()
        elif session_roll >= 0.6:
            session = None
        user = rng.randrange(len(_USERS))
        if code == 12:
            body = self.email_opened(user)
        elif code == 21:
            body = self.page_visit()
        elif code == 22:
            body, stage = self.stage_change(user, stage)
        elif code == 164:
            body = self.custom_object(user, offset)
        elif code == 201:
            body = self.follow_up(user, offset)
        elif code in (206, 207):
            body = self.phone_call(user, lead, offset, inbound=code == 206)
        else:
            body = self.payment(user)
        activity = {
            "Id": activity_id,
            "EventCode": code,
            "EventName": EVENT_NAMES[code],
            "ActivityScore": body.pop("ActivityScore", 0),
            "CreatedOn": self.stamp(offset),
            "ActivityType": body.pop("ActivityType", 2),
            "IsEmailType": code == 12,
            "Type": body.pop("Type", "Inbound"),
            "SessionId": session,
            "TrackLocation": body.pop("TrackLocation", 0),
            "Latitude": body.pop("Latitude", 0),
            "Longitude": body.pop("Longitude", 0),
            "RelatedProspectId": lead.lead_id,
            "Data": body.pop("Data"),
            "ActivityFields": body.pop("ActivityFields"),
            "ModifiedOn": self.stamp(offset),
        }
        created = self.hand_dated(offset)
        if created != offset:
            # The user's date for it; the system wrote it at ``offset`` (its ModifiedOn).
            written = activity
            activity = {**written, "CreatedOn": self.stamp(created)}
            self.changes.append(change_record(written, activity, _USERS[user]))
        if edited > offset:
            before = activity
            activity = {**before, "ActivityScore": before["ActivityScore"] + 1, "ModifiedOn": self.stamp(edited)}
            self.changes.append(change_record(before, activity, _USERS[user]))
        return activity, stage

    def hand_dated(self, offset: int) -> int:
        """The ``CreatedOn`` a user gave an activity the system wrote at ``offset`` (to the minute)."""
        rng, backdated, ahead = self.dating
        roll = rng.random()
        if roll < backdated:
            moment = offset - rng.randint(*_BACKDATED_BY)
        elif roll < backdated + ahead:
            moment = offset + rng.randint(*_AHEAD_BY)
        else:
            return offset
        moment = min(max(0, moment - moment % 60), self.span - 1)
        return offset if moment == offset else moment

    def data(self, pairs: list[tuple[str, Any]], object_chance: float) -> Any:
        # The documented shape is a key/value list; real accounts have also sent an object.
        if self.rng.random() < object_chance:
            return dict(pairs)
        return [{"Key": key, "Value": value} for key, value in pairs]

    def common(self, user: int, code: int, description: str | None) -> list[tuple[str, Any]]:
        return [
            ("CreatedByName", _USERS[user]),
            ("EventName", EVENT_NAMES[code]),
            ("NotableEventDescription", description),
        ]

    def email_opened(self, user: int) -> dict[str, Any]:
        rng = self.rng
        subject = rng.choice(_EMAIL_SUBJECTS)
        campaign = rng.choice(("Q1 Nurture", "Webinar \u2013 Jan", None))
        pairs = [
            *self.common(user, 12, f"Opened email: {subject}"),
            ("EmailSubject", subject),
            ("CampaignName", campaign),
        ]
        return {
            "ActivityScore": 2,
            "ActivityType": 1,
            "Data": self.data(pairs, 0.1),
            "ActivityFields": {},
        }

    def page_visit(self) -> dict[str, Any]:
        rng = self.rng
        url, title = rng.choice(_PAGES)
        seconds = rng.randint(3, 900)
        if rng.random() < 0.25:
            # Seen as an object with a numeric value, not only as key/value strings.
            data: Any = {"PageUrl": url, "PageTitle": title, "TimeSpent": seconds}
        else:
            data = [
                {"Key": "PageUrl", "Value": url},
                {"Key": "PageTitle", "Value": title},
                {"Key": "TimeSpent", "Value": str(seconds)},
                {"Key": "NotableEventDescription", "Value": f"Visited {title}"},
            ]
        fields: dict[str, Any] = {}
        if rng.random() < 0.3:
            fields = {"Browser": rng.choice(("Chrome", "Safari", "Firefox")), "mx_Custom_1": None}
        return {"ActivityScore": 1, "ActivityType": 1, "Data": data, "ActivityFields": fields}

    def stage_change(self, user: int, stage: str) -> tuple[dict[str, Any], str]:
        rng = self.rng
        new_stage = rng.choice([name for name in _STAGES if name != stage])
        pairs = [
            ("PreviousStage", stage),
            ("CurrentStage", new_stage),
            *self.common(user, 22, f"Stage changed from {stage} to {new_stage}"),
        ]
        body = {
            "ActivityType": 1,
            "Type": "Outbound",
            "Data": self.data(pairs, 0.3),
            "ActivityFields": {},
        }
        return body, new_stage

    def file_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice(_UNICODE_FILES)
        return f"{rng.getrandbits(32):08x}.{rng.choice(('png', 'jpg', 'pdf'))}"

    def custom_object(self, user: int, offset: int) -> dict[str, Any]:
        rng = self.rng
        files = [self.file_name() for _ in range(rng.randint(1, 2))]
        second = rng.choice((self.file_name(), "864563", ""))
        record = {
            "mx_CustomObject_1": ",".join(files),
            "mx_CustomObject_2": second,
            # The trailing space is in LeadSquared's own example; clients must not trip on it.
            "ModifiedByName": _USERS[user] + " ",
            "ModifiedOn": self.stamp(offset),
            "Status": rng.choice(("", "Pending", "Approved", "Rejected")),
        }
        fields: dict[str, Any] = {"mx_Custom_1": compact_json(record), "Status": "Active"}
        if rng.random() < 0.5:
            fields["Owner"] = self.owners[user]
        description = rng.choice(("", "Lets begin", "KYC uploaded \u2705", None))
        pairs = [*self.common(user, 164, description), ("HasAttachments", "False")]
        return {"Data": self.data(pairs, 0.05), "ActivityFields": fields}

    def follow_up(self, user: int, offset: int) -> dict[str, Any]:
        rng = self.rng
        note = rng.choice(_NOTES)
        pairs = [*self.common(user, 201, note), ("HasAttachments", "False")]
        fields: dict[str, Any] = {}
        if rng.random() >= 0.15:
            fields = {
                "mx_Custom_1": self.stamp(offset + rng.randint(3600, 7 * 86400)),
                "mx_Custom_2": rng.choice(("High", "Medium", "Low", None)),
                "mx_Custom_3": note,
                "Status": "Active",
                "Owner": self.owners[user],
            }
            if rng.random() < 0.5:
                product = {
                    "Product": rng.choice(_PRODUCTS),
                    "Quantity": rng.randint(1, 50),
                    "Discount": rng.choice(("10%", "0", None)),
                }
                fields["mx_Custom_4"] = compact_json(product)
        return {
            "ActivityScore": rng.choice((5, 10, -2)),
            "Type": "Outbound",
            "Data": self.data(pairs, 0.1),
            "ActivityFields": fields,
        }

    def phone_call(self, user: int, lead: Lead, offset: int, inbound: bool) -> dict[str, Any]:
        rng = self.rng
        code = 206 if inbound else 207
        status = rng.choice(("Answered", "Answered", "Answered", "Missed", "Voicemail"))
        duration = 0 if status == "Missed" else rng.randint(5, 1800)
        agent = f"+91-80{rng.randint(10_000_000, 99_999_999)}"
        source, destination = (lead.phone, agent) if inbound else (agent, lead.phone)
        recording = None
        if status == "Answered":
            recording = f"https://recordings.example.com/{rng.getrandbits(64):016x}.mp3"
        details = [
            ("SourceNumber", source),
            ("DestinationNumber", destination),
            ("DisplayNumber", "+91-8040001234"),
            ("Status", status),
            ("CallDuration", duration),
            ("StartTime", self.stamp(offset)),
            ("EndTime", self.stamp(offset + duration)),
            ("CallSessionId", f"{rng.getrandbits(40):010x}"),
            ("ResourceURL", recording or ""),
            ("Agent", _USERS[user]),
            ("Notes", rng.choice(_NOTES)),
        ]
        # LeadSquared's telephony connector packs call details into one string this way.
        note = "{next}".join(f"{key}{{=}}{value}" for key, value in details)
        direction = "Inbound" if inbound else "Outbound"
        description = f"{direction} call {status.lower()} ({duration}s)"
        pairs = [*self.common(user, code, description), ("HasAttachments", "False")]
        fields = {
            "ActivityEvent_Note": note,
            "Status": status,
            "mx_Custom_1": recording,
            "mx_Custom_2": str(duration),
            "Owner": self.owners[user],
        }
        return {
            "ActivityScore": 3 if status == "Answered" else 0,
            "Type": direction,
            "Data": self.data(pairs, 0.05),
            "ActivityFields": fields,
        }

    def payment(self, user: int) -> dict[str, Any]:
        rng = self.rng
        latitude, longitude, currency, symbol = rng.choice(_CITIES)
        amount = rng.randint(49_900, 25_000_000) / 100
        receipt = {
            "Invoice": f"INV-{rng.randint(1000, 99999)}",
            "mx_CustomObject_1": f"receipt_{rng.getrandbits(32):08x}.pdf",
            "Status": "Paid",
        }
        pairs = [
            *self.common(user, 2000, f"Payment of {symbol}{amount:,.2f} received"),
            ("HasAttachments", "True"),
        ]
        return {
            "ActivityScore": 10,
            "TrackLocation": 1,
            "Latitude": round(latitude + rng.uniform(-0.05, 0.05), 6),
            "Longitude": round(longitude + rng.uniform(-0.05, 0.05), 6),
            "Data": self.data(pairs, 0.1),
            "ActivityFields": {
                "mx_Custom_1": f"{amount:.2f}",
                "mx_Custom_2": currency,
                "mx_Custom_3": compact_json(receipt),
                "Status": "Active",
            },
        }

"""The account's activity types: "Get Activity Types" and "Get Activity Type Details".

``GET /v2/ProspectActivity.svc/ActivityTypes.Get`` lists the account's activity types;
``GET /v2/ProspectActivity.svc/CustomActivity/GetActivitySetting?code=<event>`` describes one
type and its custom fields (``mx_Custom_1`` .. ``mx_Custom_50``). The catalogue here is a
fixed declaration, :data:`CATALOGUE`, consistent with the generated data of
:mod:`~airflow_provider_leadact.sandbox.data`: every event code the data uses is listed under
its ``EVENT_NAMES`` name, and every ``mx_Custom_n`` value an activity holds is a declared field
of its type (a follow-up's ``mx_Custom_2`` is one of its dropdown's options). Two custom types
the data never uses are listed as well, as an account has types nobody has logged yet.

The documented examples show ``OptionSet`` only empty (``""``); a dropdown's options are served
here in two shapes, a list of ``{"Text", "Value"}`` objects and the same list JSON-encoded in a
string (as LeadSquared embeds JSON in other string fields), so a client must read both.
Pure functions of the request, as in :mod:`~airflow_provider_leadact.sandbox.api`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_leadact.sandbox.api import ApiError, integer_field, invalid
from airflow_provider_leadact.sandbox.data import EVENT_NAMES, compact_json

TYPES_PATH = "/v2/ProspectActivity.svc/ActivityTypes.Get"
SETTING_PATH = "/v2/ProspectActivity.svc/CustomActivity/GetActivitySetting"
#: The ``Category`` of types LeadSquared defines, and of types the account created.
SYSTEM, CUSTOM = "System", "Custom"
# Stable ids of the types' settings: derived from the code, visibly not a real account's.
_ID_NAMESPACE = uuid.UUID("6c1d7a52-0000-4000-8000-5a4db0c47e57")


@dataclass(frozen=True)
class FieldSpec:
    """One custom field of an activity type.

    :ivar schema_name: ``mx_Custom_1`` .. ``mx_Custom_50``.
    :ivar display_name: what the account calls it.
    :ivar data_type: LeadSquared's data type name (``String``, ``Number``, ``DateTime``,
        ``Dropdown``, ``CustomObject``...).
    :ivar mandatory: whether the form requires it.
    :ivar options: a dropdown's options; ``None`` for other fields.
    :ivar options_as_text: serve the options JSON-encoded in a string rather than as a list.
    """

    schema_name: str
    display_name: str
    data_type: str
    mandatory: bool = False
    options: tuple[str, ...] | None = None
    options_as_text: bool = False

    def option_set(self) -> Any:
        """``OptionSet`` as the API sends it: ``""`` for none, else the options in this field's shape."""
        if self.options is None:
            return ""
        options = [{"Text": option, "Value": option} for option in self.options]
        return compact_json(options) if self.options_as_text else options


@dataclass(frozen=True)
class TypeSpec:
    """One activity type of the account.

    :ivar code: the event code (``EventCode`` of its activities).
    :ivar category: :data:`SYSTEM` or :data:`CUSTOM`.
    :ivar score: points an activity of this type adds to the lead's score.
    :ivar direction: ``Inbound`` or ``Outbound``.
    :ivar fields: its custom fields (custom types only).
    :ivar name: its name when the generated data does not use it (else ``EVENT_NAMES``'s).
    """

    code: int
    category: str
    score: int = 0
    direction: str = "Inbound"
    fields: tuple[FieldSpec, ...] = ()
    name: str | None = None

    @property
    def display_name(self) -> str:
        """The type's name: the ``EventName`` its activities carry."""
        return self.name or EVENT_NAMES[self.code]


_F = FieldSpec
#: The account's activity types, in the order ``ActivityTypes.Get`` lists them.
CATALOGUE: tuple[TypeSpec, ...] = (
    TypeSpec(12, SYSTEM, score=2),
    TypeSpec(21, SYSTEM, score=1),
    TypeSpec(22, SYSTEM, direction="Outbound"),
    TypeSpec(164, CUSTOM, fields=(_F("mx_Custom_1", "KYC Documents", "CustomObject"),)),
    TypeSpec(
        201,
        CUSTOM,
        score=5,
        direction="Outbound",
        fields=(
            _F("mx_Custom_1", "Follow-up Date", "DateTime", mandatory=True),
            _F("mx_Custom_2", "Priority", "Dropdown", options=("High", "Medium", "Low")),
            _F("mx_Custom_3", "Follow-up Notes", "String"),
            _F("mx_Custom_4", "Product Interest", "CustomObject"),
        ),
    ),
    TypeSpec(
        206,
        CUSTOM,
        score=3,
        fields=(_F("mx_Custom_1", "Call Recording", "String"), _F("mx_Custom_2", "Call Duration (s)", "Number")),
    ),
    TypeSpec(
        207,
        CUSTOM,
        score=3,
        direction="Outbound",
        fields=(_F("mx_Custom_1", "Call Recording", "String"), _F("mx_Custom_2", "Call Duration (s)", "Number")),
    ),
    TypeSpec(
        2000,
        CUSTOM,
        score=10,
        fields=(
            _F("mx_Custom_1", "Amount", "Number", mandatory=True),
            _F(
                "mx_Custom_2",
                "Currency",
                "Dropdown",
                mandatory=True,
                options=("INR", "SGD", "EUR", "CAD"),
                options_as_text=True,
            ),
            _F("mx_Custom_3", "Receipt \u2013 \u0930\u0938\u0940\u0926", "CustomObject"),
        ),
    ),
    TypeSpec(
        215,
        CUSTOM,
        name="Document Verification",
        fields=(
            _F("mx_Custom_1", "Document Type", "Dropdown", mandatory=True, options=("Aadhaar", "PAN", "Passport")),
            _F("mx_Custom_2", "Verified On", "Date"),
            _F("mx_Custom_3", "Verifier's Remarks", "String"),
        ),
    ),
    TypeSpec(216, CUSTOM, name="Webinar Attended \u2013 \u30a6\u30a7\u30d3\u30ca\u30fc", score=4),
)
_BY_CODE: dict[int, TypeSpec] = {spec.code: spec for spec in CATALOGUE}


def type_spec(code: int) -> TypeSpec | None:
    """The declared type with this event code, or ``None``."""
    return _BY_CODE.get(code)


def activity_types() -> list[dict[str, Any]]:
    """Answer ``GET /v2/ProspectActivity.svc/ActivityTypes.Get``: every type, in catalogue order."""
    return [
        {
            "ActivityEvent": spec.code,
            "Name": spec.display_name,
            "DisplayName": spec.display_name,
            "Category": spec.category,
            "Score": spec.score,
            "Direction": spec.direction,
            "IsEmailType": spec.code == 12,
            "TrackLocation": spec.code == 2000,
            "CanDeleteActivity": spec.category == CUSTOM,
        }
        for spec in CATALOGUE
    ]


def activity_setting(query: Mapping[str, str]) -> dict[str, Any]:
    """Answer ``GET /v2/ProspectActivity.svc/CustomActivity/GetActivitySetting?code=``.

    A system type answers with no fields.

    :param query: query parameters, names lower-cased.
    :raises ApiError: 400 for a missing or non-integer code, or a code the account has no type for.
    """
    code = integer_field(query.get("code"), "code")
    if code is None:
        raise invalid("Query parameter code is required: the event code of an activity type, e.g. 201")
    spec = type_spec(code)
    if spec is None:
        raise ApiError(400, "MXInvalidInputException", f"No activity type with code {code} exists in this account")
    return {
        "ID": str(uuid.uuid5(_ID_NAMESPACE, str(code))),
        "Name": spec.display_name,
        "DisplayName": spec.display_name,
        "Fields": [
            {
                "SchemaName": field.schema_name,
                "DisplayName": field.display_name,
                "Value": None,
                "DataType": field.data_type,
                "IsMandatory": field.mandatory,
                "ShowInForm": True,
                "Sequence": sequence,
                "OptionSet": field.option_set(),
            }
            for sequence, field in enumerate(spec.fields, start=1)
        ],
    }

"""The documented example activity, for tests that need one outside the sandbox's data."""

from __future__ import annotations

LEAD = "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"


def activity(**overrides):
    base = {
        "Id": "c310391d-6784-418b-b61c-bca2d0a7a645",
        "EventCode": 164,
        "EventName": "Custom Object Activity",
        "ActivityScore": 0,
        "CreatedOn": "2018-12-12 10:36:00",
        "ActivityType": 2,
        "IsEmailType": False,
        "Type": "Inbound",
        "SessionId": "c310391d-6784-418b-b61c-bca2d0a7a645",
        "TrackLocation": 0,
        "Latitude": 0,
        "Longitude": 0,
        "RelatedProspectId": LEAD,
        "Data": [{"Key": "CreatedByName", "Value": "Mangesh V. Devikar"}, {"Key": "HasAttachments", "Value": "False"}],
        "ActivityFields": {
            "mx_Custom_1": '{"mx_CustomObject_1":"bf71914e.png","Status":""}',
            "Status": "Active",
        },
        "ModifiedOn": "2018-12-12 10:57:45",
    }
    base.update(overrides)
    return base


#: The first activity of the response documented for "Get Activities of a Lead", verbatim.
DOCUMENTED_ACTIVITY = {
    "Id": "c310391d-6784-418b-b61c-bca2d0a7a645",
    "EventCode": 164,
    "EventName": "Custom Object Activity",
    "ActivityScore": 0,
    "CreatedOn": "2018-12-12 10:36:00",
    "ActivityType": 2,
    "IsEmailType": False,
    "Type": "Inbound",
    "SessionId": "c310391d-6784-418b-b61c-bca2d0a7a645",
    "TrackLocation": 0,
    "Latitude": 0,
    "Longitude": 0,
    "RelatedProspectId": "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf",
    "Data": [
        {"Key": "CreatedByName", "Value": "Mangesh V. Devikar"},
        {"Key": "EventName", "Value": "Custom Object Activity"},
        {"Key": "NotableEventDescription", "Value": ""},
        {"Key": "HasAttachments", "Value": "False"},
    ],
    "ActivityFields": {
        "mx_Custom_1": '{"mx_CustomObject_1":"bf71914e.png","ModifiedByName":"Mangesh V. Devikar ",'
        '"ModifiedOn":"2018-12-12 10:39:21","Status":""}',
        "Status": "Active",
    },
    "ModifiedOn": "2018-12-12 10:57:45",
}


def numbers_as_strings(activity: dict) -> dict:
    """The activity with every number and flag sent as a string, as parts of the API send them."""
    out = dict(activity)
    for key in ("EventCode", "ActivityScore", "ActivityType", "TrackLocation", "Latitude", "Longitude", "IsEmailType"):
        if key in out and out[key] is not None:
            out[key] = str(out[key])
    return out

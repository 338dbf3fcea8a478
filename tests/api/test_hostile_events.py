"""POST /v1/events answers hostile items one by one; dead letters stay bounded and page by bytes."""

from __future__ import annotations

import hashlib
import json
import uuid

from tests.api.conftest import Api


def _fault(**extra: object) -> dict[str, object]:
    return {
        "kind": "fault",
        "unit_id": "U1",
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2023-04-20T09:30:00+08:00",
        "code": "02",
        **extra,
    }


def test_hostile_items_get_their_own_outcome_never_a_500(api: Api) -> None:
    h = api.as_("contractor") | {"content-type": "application/json"}
    good = _fault()
    items = [
        json.dumps(_fault(event_id=12345)),
        json.dumps(_fault(floor=10**30)),
        json.dumps(_fault()).replace('"code"', '"a\\u0000b": 1, "code"'),
        json.dumps(_fault()).replace('"02"', '"\\ud800"'),
        json.dumps(_fault(running_hours=float("inf"))),
        json.dumps(good),
    ]
    response = api.client.post("/v1/events", headers=h, content="[" + ",".join(items) + "]")
    assert response.status_code == 200, response.text
    got = [(i["outcome"], i["reason"]) for i in response.json()["items"]]
    assert got == [
        ("rejected", "schema_violation"), ("rejected", "schema_violation"),
        ("rejected", "schema_violation"), ("rejected", "malformed_json"),
        ("rejected", "schema_violation"), ("stored", None),
    ]  # fmt: skip
    letters = api.get("admin", "/v1/dead-letters", params={"unit_id": "U1"}).json()["items"]
    letters = [d for d in letters if d["source"] == "http"]
    assert len(letters) == 5
    assert any("a\\u0000b" in d["detail"] for d in letters)


def test_oversized_items_keep_their_head_and_the_list_pages_by_bytes(api: Api) -> None:
    h = api.as_("admin")
    big = [_fault(contractor_id="K1", description="长" * 40000 + str(n)) for n in range(3)]
    response = api.client.post("/v1/events", headers=h, json=big)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == {"oversized": 3}
    pages, seen, cursor = 0, [], None
    while True:
        params = {
            "reason": "oversized",
            "max_bytes": 5000,
            **({"cursor": cursor} if cursor else {}),
        }
        body = api.get("admin", "/v1/dead-letters", params=params).json()
        pages += 1
        seen += body["items"]
        assert len(body["items"]) == 1  # 4 KiB kept each: a second would pass 5000 bytes
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    for letter in seen:
        assert letter["payload_truncated"] and letter["payload_size"] > 100000
        assert len(letter["payload_text"].encode()) <= 4096
    whole = {hashlib.sha256(json.dumps({k: v for k, v in item.items()
                                        if k not in ("kind", "unit_id", "contractor_id")},
                                       ensure_ascii=False, separators=(",", ":")).encode()
                            ).hexdigest() for item in big}  # fmt: skip
    assert {letter["payload_sha256"] for letter in seen} == whole

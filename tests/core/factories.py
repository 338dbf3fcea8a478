"""Small register rows for tests: one dict per unit, keyed like the register file's columns."""

from __future__ import annotations

from typing import Any


def unit_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid register row for unit number n (two units per building, ten buildings a community)."""
    building = n // 2
    community = building // 10
    row = {
        "district_id": "D1",
        "district": "海淀区",
        "street_office_id": "SO1",
        "street_office": "四季青街道",
        "community_id": f"C{community}",
        "community": f"小区{community}",
        "building_id": f"C{community}-B{building}",
        "building": f"{building}号楼",
        "floors": "18",
        "households": "144",
        "residents": "400",
        "elderly_share": "0.4",
        "year_built": "1992",
        "property_unit": "房管所",
        "fund_status": "insufficient",
        "fund_balance": "1000",
        "unit_id": f"U{n:06d}",
        "registration_code": f"RC{n:018d}",
        "manufacturer": "MakerA",
        "model": "M1",
        "installed_on": "1992-06-01",
        "renewed_on": "2006-05-01",
        "rated_load_kg": "1000",
        "rated_speed_mps": "1.75",
        "stops": "18",
        "drive_type": "traction",
        "contractor_id": "M1",
        "contractor": "维保一",
        "contractor_since": "",
        "service_status": "in_service",
    }
    row.update(overrides)
    return row

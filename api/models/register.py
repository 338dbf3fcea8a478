"""Request and response bodies of the fleet register resources."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from api.models.common import Body, Day
from core.contracts import ID_PATTERN

Id = Field(pattern=ID_PATTERN, min_length=1, max_length=64)
Name = Field(min_length=1, max_length=200)
FundStatus = Literal["funded", "insufficient", "none"]
DriveType = Literal["traction", "hydraulic", "other"]
ServiceStatus = Literal["in_service", "stopped", "under_renewal", "retired"]


class _In(Body):
    """A body that creates or changes a register entry."""


def _without_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    for name in getattr(model, "NOT_NULL", ()):
        field = schema["properties"][name]
        field.update(next(s for s in field.pop("anyOf") if s.get("type") != "null"))


def _whole_point(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """A building's coordinates are numbers, left out together or sent together."""
    _without_null(schema, model)
    schema["dependentRequired"] = {"lat": ["lon"], "lon": ["lat"]}


class _Update(_In):
    """A change: only the fields sent change. Those the register cannot hold empty (NOT_NULL) may
    be left out but not sent as null, and the OpenAPI document says so."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_without_null)
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise ValueError("may be left out, but not null: the register keeps a value here")
        return value


class District(BaseModel):
    """A district (区), the bureau's jurisdiction."""

    district_id: str = Field(examples=["110108"])
    name: str = Field(examples=["海淀区"])
    name_en: str | None = Field(default=None, examples=["Haidian"])


class DistrictCreate(_In):
    district_id: str = Id
    name: str = Name
    name_en: str | None = Field(default=None, max_length=200)


class DistrictUpdate(_Update):
    NOT_NULL = ("name",)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)


class StreetOffice(BaseModel):
    """A street office (街道办) and the district it belongs to."""

    street_office_id: str = Field(examples=["110108-BTX"])
    district_id: str = Field(examples=["110108"])
    name: str = Field(examples=["八里庄街道"])
    name_en: str | None = None


class StreetOfficeCreate(_In):
    street_office_id: str = Id
    district_id: str = Id
    name: str = Name
    name_en: str | None = Field(default=None, max_length=200)


class StreetOfficeUpdate(_Update):
    NOT_NULL = ("name",)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)


class Community(BaseModel):
    """A residential compound (小区)."""

    community_id: str = Field(examples=["DXY-W"])
    street_office_id: str
    name: str = Field(examples=["稻香园西里"])
    name_en: str | None = None


class CommunityCreate(_In):
    community_id: str = Id
    street_office_id: str = Id
    name: str = Name
    name_en: str | None = Field(default=None, max_length=200)


class CommunityUpdate(_Update):
    NOT_NULL = ("name",)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)


class Building(BaseModel):
    """A building, with what matters when its elevators stop: households, elderly, floors, money."""

    building_id: str = Field(examples=["DXY-W-2"])
    community_id: str
    street_office_id: str
    district_id: str
    name: str = Field(examples=["2号楼"])
    floors: int = Field(examples=[16])
    households: int = Field(examples=[96])
    residents: int | None = None
    elderly_share: float | None = Field(default=None, examples=[0.42])
    year_built: int | None = Field(default=None, examples=[1992])
    property_unit: str | None = None
    fund_status: FundStatus
    fund_balance: float | None = None
    lat: float | None = Field(default=None, description="Latitude, degrees north.", examples=[39.9])
    lon: float | None = Field(
        default=None, description="Longitude, degrees east.", examples=[116.3]
    )
    units: int = Field(description="Elevator units registered in the building.")
    units_in_service: int = Field(description="Units currently in service.")


class BuildingCreate(_In):
    building_id: str = Id
    community_id: str = Id
    name: str = Name
    floors: int = Field(ge=1, le=200)
    households: int = Field(ge=0, le=100000)
    residents: int | None = Field(default=None, ge=0, le=1000000)
    elderly_share: float | None = Field(default=None, ge=0, le=1)
    year_built: int | None = Field(default=None, ge=1900, le=2100)
    property_unit: str | None = Field(default=None, max_length=200)
    fund_status: FundStatus = "none"
    fund_balance: float | None = Field(default=None, ge=0, le=999_999_999_999)
    lat: float | None = Field(default=None, ge=-90, le=90, description="Latitude, degrees north.")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Longitude, degrees east.")

    model_config = ConfigDict(extra="forbid", json_schema_extra=_whole_point)
    NOT_NULL: ClassVar[tuple[str, ...]] = ("lat", "lon")

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the point out, or send a number")
        return value

    @model_validator(mode="after")
    def _both(self) -> BuildingCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together: send both or neither")
        return self


class BuildingUpdate(_Update):
    NOT_NULL = ("name", "floors", "households", "fund_status", "lat", "lon")
    model_config = ConfigDict(extra="forbid", json_schema_extra=_whole_point)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    floors: int | None = Field(default=None, ge=1, le=200)
    households: int | None = Field(default=None, ge=0, le=100000)
    residents: int | None = Field(default=None, ge=0, le=1000000)
    elderly_share: float | None = Field(default=None, ge=0, le=1)
    year_built: int | None = Field(default=None, ge=1900, le=2100)
    property_unit: str | None = Field(default=None, max_length=200)
    fund_status: FundStatus | None = None
    fund_balance: float | None = Field(default=None, ge=0, le=999_999_999_999)
    lat: float | None = Field(default=None, ge=-90, le=90, description="Latitude, degrees north.")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Longitude, degrees east.")

    @model_validator(mode="after")
    def _both(self) -> BuildingUpdate:
        if len({"lat", "lon"} & self.model_fields_set) == 1:
            raise ValueError("lat and lon change together: send both")
        return self


class Unit(BaseModel):
    """An elevator unit and where it sits."""

    unit_id: str = Field(examples=["DXY-W-2-A"])
    registration_code: str = Field(examples=["31101101082006050001"])
    building_id: str
    community_id: str
    street_office_id: str
    district_id: str
    manufacturer: str = Field(examples=["三菱"])
    model: str | None = None
    installed_on: date = Field(examples=["1992-06-01"])
    renewed_on: date | None = Field(default=None, examples=["2006-05-01"])
    rated_load_kg: int | None = None
    rated_speed_mps: float | None = None
    stops: int | None = None
    drive_type: DriveType
    contractor_id: str
    service_status: ServiceStatus
    updated_at: datetime


class UnitCreate(_In):
    unit_id: str = Id
    registration_code: str = Id
    building_id: str = Id
    manufacturer: str = Name
    model: str | None = Field(default=None, max_length=200)
    installed_on: Day
    renewed_on: Day | None = None
    rated_load_kg: int | None = Field(default=None, ge=50, le=20000)
    rated_speed_mps: float | None = Field(default=None, ge=0.05, le=20)
    stops: int | None = Field(default=None, ge=1, le=200)
    drive_type: DriveType = "traction"
    contractor_id: str = Id
    service_status: ServiceStatus = "in_service"


class UnitUpdate(_Update):
    NOT_NULL = ("manufacturer", "drive_type", "contractor_id", "service_status")

    manufacturer: str | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    renewed_on: Day | None = None
    rated_load_kg: int | None = Field(default=None, ge=50, le=20000)
    rated_speed_mps: float | None = Field(default=None, ge=0.05, le=20)
    stops: int | None = Field(default=None, ge=1, le=200)
    drive_type: DriveType | None = None
    contractor_id: str | None = Field(default=None, pattern=ID_PATTERN, max_length=64)
    service_status: ServiceStatus | None = None


class Contractor(BaseModel):
    """A maintenance contractor (维保单位)."""

    contractor_id: str = Field(examples=["C-OTIS-BJ"])
    name: str = Field(examples=["北京某电梯维保有限公司"])
    name_en: str | None = None


class ContractorCreate(_In):
    contractor_id: str = Id
    name: str = Name
    name_en: str | None = Field(default=None, max_length=200)


class ContractorUpdate(_Update):
    NOT_NULL = ("name",)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)


class ImportResult(BaseModel):
    """What a register import did."""

    rows: int
    buildings_only: int = Field(
        description="Rows describing a building with no unit (a walk-up, a retrofit candidate)."
    )
    created: int
    updated: int
    unchanged: int
    rejected: int
    changes_logged: int
    problems: list[dict[str, object]] = Field(default_factory=list)

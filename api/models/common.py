"""Shapes shared by many resources: pages with a cursor, dates and moments people send."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from core import dates

T = TypeVar("T")


class Body(BaseModel):
    """A request body: unknown fields refused, numbers sent as JSON numbers (not true or "3"; 3.0
    is an integer, as in JSON Schema), and no text with a NUL character, which PostgreSQL cannot
    store."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character (U+0000)")
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool | str) and field is not None and _numeric(field.annotation):
            raise ValueError("expected a number")
        return value


def _numeric(annotation: Any) -> bool:
    kinds = get_args(annotation) or (annotation,)
    return any(kind in (int, float) for kind in kinds)


class Page(BaseModel, Generic[T]):
    """A page of items; pass ``next_cursor`` as ``cursor`` to get the next one (null at the end)."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null on the last page."
    )


Day = Annotated[
    date,
    BeforeValidator(dates.written_out),
    AfterValidator(dates.within_bounds),
    WithJsonSchema({"type": "string", "format": "date", "pattern": dates.YEAR_PATTERN}),
]
"""A calendar date a person sends: written out (not a number), years 1900-2100."""

Instant = Annotated[
    datetime,
    BeforeValidator(dates.written_out),
    AfterValidator(dates.within_bounds),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": dates.YEAR_PATTERN}),
]
"""A moment a person sends: an ISO 8601 date-time (not a number), years 1900-2100."""

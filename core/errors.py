"""Domain errors shared by every component; each carries its HTTP status and a stable type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class LiftwatchError(Exception):
    """Base of every error liftwatch raises on purpose."""

    status: int = 500
    type: str = "internal"
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(LiftwatchError):
    status, type, title = 404, "not-found", "Not found"


class Invalid(LiftwatchError):
    status, type, title = 422, "invalid", "Invalid input"


class Conflict(LiftwatchError):
    status, type, title = 409, "conflict", "Conflict"


class ConfigError(LiftwatchError):
    status, type, title = 500, "configuration", "Configuration error"


@dataclass(frozen=True)
class Problem:
    """One precise problem with a piece of input: where it is, what was expected, what was got."""

    field: str
    reason: str
    expected: str | None = None
    got: Any = None
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, without empty members."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


class ProblemList(Invalid):
    """Many problems found at once, so a user can fix them all in one go."""

    def __init__(self, problems: list[Problem], *, lang: str | None = None) -> None:
        super().__init__(f"{len(problems)} problem(s) in the input")
        self.problems = problems
        # The language the reasons are written in (a register file's), when not English.
        self.lang = lang

"""Domain errors raised by services and shown the same way by the API and the dashboard."""

import enum
from typing import Any


class ServiceError(Exception):
    """A refused action with a stable machine code and HTTP status (the API's error envelope)."""

    def __init__(self, message: str, *, code: str = "VALIDATION_ERROR", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class NotPermitted(ServiceError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="INSUFFICIENT_SCOPE", status=403)


# --- Partial updates ---------------------------------------------------------------------------
# A service's optional keyword defaults to UNSET, so "not given" (leave as is) differs from an explicit
# None (clear it, where the field allows null).


class Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that were actually given: every one that is not UNSET."""
    return {name: value for name, value in fields.items() if value is not UNSET}

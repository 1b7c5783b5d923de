"""Domain errors raised by services and shown the same way by the API and the dashboard."""


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

"""Domain errors raised by services; the web and CLI layers map them to messages and codes."""


class ServiceError(Exception):
    """An error the user caused and can act on; the message is safe to show."""


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class InvalidInput(ServiceError):
    """`fields` maps a field's id to its problem (one of `problems`), so a form can mark the
    field a problem is about and link to it, not only list it."""

    def __init__(self, message: str, problems: list[str] | None = None,
                 fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
        self.fields = fields or {}

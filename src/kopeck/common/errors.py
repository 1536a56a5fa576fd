"""Domain errors raised by services. The API layer turns them into RFC 9457 problem+json."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class KopeckError(Exception):
    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, errors: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}


class ValidationFailed(KopeckError):
    status = 400
    code = "validation-error"
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(f"{field}: {message}", errors={field: [message]})


class NotFound(KopeckError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(KopeckError):
    status = 409
    code = "conflict"
    title = "Conflict"


class NotAllowed(KopeckError):
    status = 403
    code = "forbidden"
    title = "Forbidden"

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the programme said no. Views turn it into a message; it never becomes a 500."""

    status = 400
    code = "bad_request"


class InvalidInput(DomainError):
    """Fields that break the rules in app.schemas: {dotted field: [{type, ctx}, ...]}."""

    status = 422
    code = "invalid"

    def __init__(self, fields: dict[str, list[dict[str, Any]]]):
        super().__init__(f"invalid fields: {', '.join(fields)}")
        self.fields = fields

    @classmethod
    def single(cls, field: str, error_type: str, **ctx: Any) -> InvalidInput:
        return cls({field: [{"type": error_type, "ctx": ctx}]})


class UnknownReference(InvalidInput):
    """An id in the input names nothing: 404 (it is well formed, as the API's description says),
    with the field named like any other broken rule."""

    status = 404
    code = "not_found"


class Conflict(InvalidInput):
    """A unique value (an email, a business number) is already taken."""

    status = 409
    code = "conflict"


class ConsentRenewalRequired(InvalidInput):
    """The privacy policy changed since the person last answered it: they must answer again
    before anything else (the API's counterpart of the pages' redirect)."""

    status = 403
    code = "consent_renewal_required"


class AuthenticationFailed(DomainError):
    status = 401
    code = "unauthorized"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int):
        super().__init__("too many attempts")
        self.retry_after = retry_after


class NotFound(DomainError):
    status = 404
    code = "not_found"


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"


class UploadRejected(InvalidInput):
    pass


class StorageError(Exception):
    """Not a rule saying no: the disk or database failed. Answered 503/507, never a 500."""

    status = 503


class StorageUnavailable(StorageError):
    """A file or row could not be written: the folder or database is read-only or unreachable."""


class StorageFull(StorageError):
    """The disk is full: nothing was saved."""

    status = 507

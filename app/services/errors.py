from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the programme said no. Views turn it into a message; it never becomes a 500.

    `code` is what the API answers; `key` (with `ctx`) names the sentence a page shows, worded
    by `app.i18n.error_message` like every broken field rule, beside `field` when it names one
    ("" for the request as a whole). `InvalidInput` names each broken field rule (`fields`)."""

    status = 400
    code = "bad_request"
    key = "not_allowed"
    field = ""

    def __init__(
        self, message: str = "", *, key: str | None = None, field: str | None = None, **ctx: Any
    ):
        super().__init__(message or self.code)
        if key is not None:
            self.key = key
        if field is not None:
            self.field = field
        self.ctx = ctx


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
    key = "wrong_credentials"
    field = "password"  # said beside the password: which of the two was wrong is not told


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int, *, key: str | None = None):
        super().__init__("too many attempts", key=key)
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

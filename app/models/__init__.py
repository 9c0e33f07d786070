"""The data model, one module per aggregate. Importing this package registers every table."""

from app.models.base import utcnow
from app.models.privacy import AuditEvent, Consent, LoginFailure
from app.models.profiles import SME, SMECode, Student, StudentCode, StudentLanguage
from app.models.user import Role, User

__all__ = [
    "SME",
    "AuditEvent",
    "Consent",
    "LoginFailure",
    "Role",
    "SMECode",
    "Student",
    "StudentCode",
    "StudentLanguage",
    "User",
    "utcnow",
]

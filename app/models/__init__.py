"""The data model, one module per aggregate. Importing this package registers every table."""

from app.models.api import ApiToken, RateLimitHit
from app.models.base import rows_changed, utcnow
from app.models.collaboration import (
    Activity,
    CheckIn,
    CheckInReminder,
    ContactDetails,
    ExportStatus,
    Kickoff,
    MatchOutcome,
    Message,
    ThreadState,
)
from app.models.learning import ModelReport, WeightAdoption
from app.models.matching import (
    CLOSED_STATUSES,
    HOLDING_STATUSES,
    CycleLease,
    CycleStatus,
    DataVersion,
    HealthProbe,
    Match,
    MatchCycle,
    MatchSettings,
    MatchStatus,
    OutboxMessage,
)
from app.models.privacy import (
    AuditEvent,
    Consent,
    EmailVerification,
    LoginFailure,
    PasswordReset,
    PasswordResetRequest,
)
from app.models.profiles import SME, SMECode, Student, StudentCode, StudentLanguage
from app.models.user import Role, User

__all__ = [
    "Activity",
    "CheckIn",
    "CheckInReminder",
    "ContactDetails",
    "ExportStatus",
    "Kickoff",
    "MatchOutcome",
    "Message",
    "ThreadState",
    "ApiToken",
    "RateLimitHit",
    "CLOSED_STATUSES",
    "HOLDING_STATUSES",
    "CycleLease",
    "CycleStatus",
    "DataVersion",
    "HealthProbe",
    "Match",
    "MatchCycle",
    "MatchSettings",
    "MatchStatus",
    "ModelReport",
    "WeightAdoption",
    "OutboxMessage",
    "SME",
    "AuditEvent",
    "Consent",
    "LoginFailure",
    "PasswordReset",
    "PasswordResetRequest",
    "EmailVerification",
    "Role",
    "SMECode",
    "Student",
    "StudentCode",
    "StudentLanguage",
    "User",
    "rows_changed",
    "utcnow",
]

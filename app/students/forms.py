from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    EmailField,
    SelectField,
    StringField,
    TextAreaField,
)

from app.forms import (
    ConsentFields,
    KeptPasswordField,
    MultiCheckboxField,
    RawDateField,
    RawMonthField,
    RawNumberField,
    code_choices,
    fill_language_rows,
    language_input,
    language_rows_field,
    optional_text,
    present,
    raw,
)


class StudentProfileForm(FlaskForm):
    name = StringField(_l("Full name"))
    nationality = SelectField(_l("Nationality"), validate_choice=False)
    languages = language_rows_field()
    topik_level = SelectField(
        _l("Korean ability (TOPIK level)"), validate_choice=False, default="0"
    )
    university = StringField(_l("University"))
    major = StringField(_l("Major"))
    markets = MultiCheckboxField(_l("Export markets you know"))
    industries = MultiCheckboxField(_l("Industries you are interested in"))
    regions = MultiCheckboxField(_l("Regions of Korea where you can work"))
    hours_per_week = RawNumberField(_l("Hours per week you can give"))
    available_from = RawDateField(_l("Available from"))
    available_until = RawDateField(_l("Available until"))
    visa = SelectField(_l("Visa type"), validate_choice=False)
    degree_level = SelectField(_l("Programme of study"), validate_choice=False)
    year_of_study = RawNumberField(_l("Year of study"))
    expected_graduation = RawMonthField(_l("Expected graduation (month)"))
    in_korea_since = RawMonthField(_l("In Korea since (month)"))
    bio = TextAreaField(_l("A short introduction"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = code_choices("countries", _("— choose —"))
        self.markets.choices = code_choices("countries")
        self.industries.choices = code_choices("industries")
        self.regions.choices = code_choices("regions")
        self.visa.choices = code_choices("visa_types", _("— choose —"))
        self.degree_level.choices = code_choices("degree_levels", _("— choose —"))
        self.topik_level.choices = [("0", _("None (0)"))] + [
            (str(n), _("Level %(n)s", n=n)) for n in range(1, 7)
        ]
        fill_language_rows(self.languages)

    def profile_input(self) -> dict[str, Any]:
        return present(
            {
                "name": self.name.data,
                "nationality": self.nationality.data,
                "languages": language_input(self.languages),
                "topik_level": raw(self.topik_level),
                "university": self.university.data,
                "major": self.major.data,
                "markets": self.markets.data or [],
                "industries": self.industries.data or [],
                "regions": self.regions.data or [],
                "hours_per_week": raw(self.hours_per_week),
                "available_from": raw(self.available_from),
                "available_until": raw(self.available_until),
                "visa": self.visa.data,
                "degree_level": self.degree_level.data,
                "year_of_study": raw(self.year_of_study),
                "expected_graduation": raw(self.expected_graduation),
                "in_korea_since": raw(self.in_korea_since),
                "bio": optional_text(self.bio),
            }
        )


class StudentSignupForm(ConsentFields, StudentProfileForm):
    email = EmailField(_l("Email"))
    password = KeptPasswordField(_l("Password (8 characters or more)"))

    def signup_input(self) -> dict[str, Any]:
        return {
            **self.profile_input(),
            "email": self.email.data,
            "password": self.password.data,
            "consent": self.consent_input(),
        }


# Sign-up in steps: account → languages and markets → studies and availability → consent, then
# the CV (optional, once the account exists). Each schema field's step, for the step checks.
SIGNUP_STEPS = (
    ("account", _l("Account")),
    ("languages", _l("Languages and markets")),
    ("studies", _l("Studies and availability")),
    ("consent", _l("Consent")),
    ("cv", _l("CV (optional)")),
)
FIELD_STEPS = {
    **dict.fromkeys(("email", "password", "name", "nationality"), 1),
    **dict.fromkeys(("languages", "topik_level", "markets", "industries", "regions"), 2),
    **dict.fromkeys(
        (
            "university",
            "major",
            "degree_level",
            "year_of_study",
            "expected_graduation",
            "in_korea_since",
            "visa",
            "hours_per_week",
            "available_from",
            "available_until",
            "bio",
        ),
        3,
    ),
    "consent": 4,
}


class CVForm(FlaskForm):
    cv = FileField(_l("CV (PDF, up to 5 MB)"))

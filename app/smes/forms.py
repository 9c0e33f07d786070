from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
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
    RawNumberField,
    code_choices,
    present,
    raw,
)


class SMEProfileForm(FlaskForm):
    # Korean and/or English: each reader sees their language, the other one as a fallback.
    company_name_ko = StringField(_l("Company name in Korean"))
    company_name_en = StringField(_l("Company name in English"))
    contact_name = StringField(_l("Contact person"))
    industries = MultiCheckboxField(_l("Industries"))
    products_ko = TextAreaField(_l("Products, in Korean"))
    products_en = TextAreaField(_l("Products, in English"))
    markets = MultiCheckboxField(_l("Export markets you target"))
    languages_needed = MultiCheckboxField(
        _l("Languages you need (leave empty to use the languages of your markets)")
    )
    region = SelectField(_l("Region"), validate_choice=False)
    capacity = RawNumberField(_l("How many students you can host (1–20)"))
    exporting = BooleanField(_l("We already export"))
    min_topik = SelectField(
        _l("Minimum Korean ability (TOPIK)"), validate_choice=False, default="0"
    )
    ksic_section = SelectField(_l("Industry section (KSIC)"), validate_choice=False)
    hours_needed = RawNumberField(_l("Hours per week you need a student (0 = flexible)"))
    period_start = RawDateField(_l("Project starts"))
    period_end = RawDateField(_l("Project ends"))
    description_ko = TextAreaField(_l("About the company, in Korean"))
    description_en = TextAreaField(_l("About the company, in English"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.industries.choices = code_choices("industries")
        self.markets.choices = code_choices("countries")
        self.languages_needed.choices = code_choices("languages")
        self.region.choices = code_choices("regions", _("— choose —"))
        self.ksic_section.choices = code_choices("ksic_sections", _("— choose —"))
        self.min_topik.choices = [("0", _("No minimum"))] + [
            (str(n), _("Level %(n)s", n=n)) for n in range(1, 7)
        ]

    def profile_input(self) -> dict[str, Any]:
        return present(
            {
                "company_name_ko": self.company_name_ko.data,
                "company_name_en": self.company_name_en.data,
                "contact_name": self.contact_name.data,
                "industries": self.industries.data or [],
                "products_ko": self.products_ko.data,
                "products_en": self.products_en.data,
                "markets": self.markets.data or [],
                "languages_needed": self.languages_needed.data or [],
                "region": self.region.data,
                "capacity": raw(self.capacity),
                "exporting": bool(self.exporting.data),
                "min_topik": raw(self.min_topik),
                "ksic_section": self.ksic_section.data,
                "hours_needed": raw(self.hours_needed),
                "period_start": raw(self.period_start),
                "period_end": raw(self.period_end),
                "description_ko": (self.description_ko.data or "").strip(),
                "description_en": (self.description_en.data or "").strip(),
            }
        )


class SMESignupForm(ConsentFields, SMEProfileForm):
    email = EmailField(_l("Email"))
    password = KeptPasswordField(_l("Password (8 characters or more)"))
    business_number = StringField(_l("Business registration number (사업자등록번호)"))

    def signup_input(self) -> dict[str, Any]:
        return {
            **self.profile_input(),
            "business_number": self.business_number.data,
            "email": self.email.data,
            "password": self.password.data,
            "consent": self.consent_input(),
        }


# Sign-up in steps: account → the company → markets and students → consent.
SIGNUP_STEPS = (
    ("account", _l("Account")),
    ("company", _l("Your company")),
    ("needs", _l("Markets and students")),
    ("consent", _l("Consent")),
)
FIELD_STEPS = {
    **dict.fromkeys(("email", "password", "business_number", "contact_name"), 1),
    **dict.fromkeys(
        (
            "company_name_ko",
            "company_name_en",
            "products_ko",
            "products_en",
            "industries",
            "ksic_section",
            "description_ko",
            "description_en",
        ),
        2,
    ),
    **dict.fromkeys(
        (
            "markets",
            "languages_needed",
            "region",
            "capacity",
            "min_topik",
            "hours_needed",
            "period_start",
            "period_end",
            "exporting",
        ),
        3,
    ),
    "consent": 4,
}

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)

from app.forms import (
    ConsentFields,
    MultiCheckboxField,
    RawDateField,
    RawNumberField,
    code_choices,
    present,
    raw,
)


class SMEProfileForm(FlaskForm):
    company_name = StringField(_l("Company name"))
    contact_name = StringField(_l("Contact person"))
    industries = MultiCheckboxField(_l("Industries"))
    products = TextAreaField(_l("Products"))
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
    description = TextAreaField(_l("About the company"))

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
                "company_name": self.company_name.data,
                "contact_name": self.contact_name.data,
                "industries": self.industries.data or [],
                "products": self.products.data,
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
                "description": (self.description.data or "").strip(),
            }
        )


class SMESignupForm(ConsentFields, SMEProfileForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password (8 characters or more)"))
    business_number = StringField(_l("Business registration number (사업자등록번호)"))

    def signup_input(self) -> dict[str, Any]:
        return {
            **self.profile_input(),
            "business_number": self.business_number.data,
            "email": self.email.data,
            "password": self.password.data,
            "consent": self.consent_input(),
        }

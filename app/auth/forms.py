from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField

from app.forms import ConsentFields


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"))
    password = PasswordField(_l("Password"))
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"))
    new_password = PasswordField(_l("New password (8 characters or more)"))


class ConsentForm(FlaskForm):
    consent_provision = BooleanField(
        _l("I agree that my profile may be provided to the SMEs I am proposed to")
    )


class ConsentRenewalForm(ConsentFields, FlaskForm):
    """The policy changed: both answers again, unticked (SECURITY.md item 17)."""


class DeleteAccountForm(FlaskForm):
    confirm = BooleanField(_l("I understand that my account and all my data will be deleted"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password (8 characters or more)"))

"""Log in and out; the account page (password, consent, my data, delete my account)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.forms import (
    ConsentForm,
    ConsentRenewalForm,
    DeleteAccountForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordChangeForm,
    ResetPasswordForm,
)
from app.errors import render_error
from app.forms import CsrfOnlyForm
from app.models import User
from app.security import is_safe_next
from app.services import accounts, consents, privacy, tokens, verification
from app.services.audit import client_ip
from app.services.errors import (
    AuthenticationFailed,
    DomainError,
    InvalidInput,
    TooManyAttempts,
)
from app.sessions import end_session, start_session
from app.transaction import commit_now
from app.web import rerender

bp = Blueprint("auth", __name__)


@bp.route("/signup")
def signup() -> str:
    """Choose: apply as a student, or register a company."""
    return render_template("auth/signup_choice.html")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    """Log in; ten failures for an account or an address lock it for a while."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.is_submitted():
        return render_template("auth/login.html", form=form)
    try:
        user = _authenticate(form)
    except TooManyAttempts as error:
        return render_error(429, retry_after=error.retry_after)
    except AuthenticationFailed as error:
        return rerender("auth/login.html", form, error)
    start_session(user)
    return redirect(_next_page(form.next.data))


def _next_page(target: str | None) -> str:
    """Where the login form came from, when it is this site's; else the dashboard."""
    return target if target and is_safe_next(target) else url_for("main.dashboard")


def _authenticate(form: LoginForm) -> User:
    """The account the form names, or the refusal; either way the attempt is counted, across
    every worker."""
    try:
        return accounts.authenticate(
            form.email.data or "", form.password.data or "", ip=client_ip() or "unknown"
        )
    except (TooManyAttempts, AuthenticationFailed):
        commit_now()  # the attempt counts, though the answer is a refusal
        raise


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """Log out here and everywhere else this account is logged in."""
    accounts.logout(current_user._get_current_object())
    end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/account")
@login_required
def account() -> str:
    """Password, consent, a copy of my data, and deleting my account."""
    return render_template("auth/account.html", **_account_context())


def _account_context(but: str = "") -> dict[str, Any]:
    """The account page's forms, empty, and what it shows (`but` leaves one form out)."""
    consent = consents.current_consent(current_user)
    context = {
        "password_form": PasswordChangeForm(formdata=None),
        "consent_form": ConsentForm(
            formdata=None, consent_provision=bool(consent and consent.provision_to_smes)
        ),
        "delete_form": DeleteAccountForm(formdata=None),
        "consent": consent,
        "button": CsrfOnlyForm(),
        "api_tokens": tokens.of_user(current_user, page=1, per_page=100)[0],
    }
    context.pop(but, None)
    return context


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password() -> Response | tuple[str, int]:
    """Change the password; every other session of this account ends."""
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    try:
        accounts.change_password(user, _password_input(form))
    except InvalidInput as error:
        context = _account_context(but="password_form")
        return rerender("auth/account.html", form, error, form_name="password_form", **context)
    start_session(user)  # this session goes on with the new token; the others are gone
    flash(_("Your password is changed. Other devices have been logged out."), "success")
    return redirect(url_for(".account"))


def _password_input(form: PasswordChangeForm) -> dict[str, str]:
    return {
        "current_password": form.current_password.data or "",
        "new_password": form.new_password.data or "",
    }


@bp.route("/account/consent", methods=["POST"])
@login_required
def change_consent() -> Response:
    """Give or withdraw consent to provision of the profile to SMEs."""
    form = ConsentForm()
    accounts.update_consent(
        current_user, {"collection": True, "provision_to_smes": bool(form.consent_provision.data)}
    )
    flash(_("Your consent is updated."), "success")
    return redirect(url_for(".account"))


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> Response:
    """Revoke one of my API tokens: programs using it are locked out at once."""
    try:
        tokens.revoke(token_id, current_user._get_current_object())
    except tokens.TokenNotFound:
        abort(404)
    flash(_("The API token is revoked."), "success")
    return redirect(url_for(".account"))


@bp.route("/account/data.json")
@login_required
def download_data() -> Response:
    """Everything the platform holds about me, as JSON (PIPA: right of access)."""
    data = privacy.export_user_data(current_user)  # audited; the boundary commits it
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = "attachment; filename=my-data.json"
    return response


@bp.route("/account/delete", methods=["POST"])
@login_required
def delete_account() -> Response | tuple[str, int]:
    """Delete my account and all my data, now."""
    form = DeleteAccountForm()
    if not form.confirm.data:
        unconfirmed = DomainError("not confirmed", key="confirm_deletion", field="confirm")
        context = _account_context(but="delete_form")
        return rerender("auth/account.html", form, unconfirmed, form_name="delete_form", **context)
    accounts.delete_account(current_user._get_current_object())  # files go with the commit
    end_session()
    flash(_("Your account and your data are deleted."), "info")
    return redirect(url_for("main.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Response | str:
    """Ask for a reset link; the answer is the same whether the address is known or not."""
    form = ForgotPasswordForm()
    if form.is_submitted():
        accounts.request_password_reset(form.email.data or "")
        flash(
            _(
                "If an account uses this address, we have sent it a link to reset the password. "
                "The link works once, for one hour."
            ),
            "info",
        )
        return redirect(url_for(".login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    """Choose a new password with a reset link; every session of the account ends."""
    form = ResetPasswordForm()
    if form.is_submitted():
        try:
            accounts.reset_password(token, form.password.data or "")
        except InvalidInput as error:
            return rerender("auth/reset.html", form, error)
        end_session()
        flash(_("Your password is changed. Log in with the new one."), "success")
        return redirect(url_for(".login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/account/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str) -> Response | str | tuple[str, int]:
    """Confirm my email address with the link we sent (a button: opening the link, as mail
    scanners do, changes nothing)."""
    if request.method == "POST":
        try:
            verification.verify(token)
        except InvalidInput:
            return render_template("auth/verify_email.html", valid=False), 422
        flash(_("Thank you: your email address is confirmed."), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/verify_email.html", valid=verification.link_is_valid(token))


@bp.route("/account/verification/resend", methods=["POST"])
@login_required
def resend_verification() -> Response:
    """Send me the confirmation link again (three an hour at most)."""
    try:
        sent = verification.send_link(current_user._get_current_object())
    except TooManyAttempts as error:
        return render_error(429, retry_after=error.retry_after)
    if sent:
        flash(_("We have sent the link again to %(email)s.", email=current_user.email), "info")
    return redirect(url_for("main.dashboard"))


@bp.route("/account/consent/renew", methods=["GET", "POST"])
@login_required
def renew_consent() -> Response | str | tuple[str, int]:
    """The privacy policy changed: read it and answer again."""
    form = ConsentRenewalForm()
    if form.is_submitted():
        try:
            accounts.update_consent(current_user, form.consent_input())
        except InvalidInput as error:
            return rerender("auth/consent_renewal.html", form, error)
        flash(_("Thank you. Your answer to the privacy policy is saved."), "success")
        return redirect(url_for("main.dashboard"))
    return render_template("auth/consent_renewal.html", form=form)

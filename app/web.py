"""Small helpers every blueprint's views share."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_wtf import FlaskForm

from app.forms import apply_errors
from app.services.errors import InvalidInput


def rerender(
    template: str, form: FlaskForm, error: InvalidInput, **context: Any
) -> tuple[str, int]:
    """The same form again, each message beside its field, with the error's 4xx status."""
    form_errors = apply_errors(form, error.fields)
    return render_template(template, form=form, form_errors=form_errors, **context), error.status

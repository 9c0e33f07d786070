"""The coordinators' blueprint and what all its pages share: access is checked once, here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.models import Role
from app.security import check_role
from app.services import engine_gateway

bp = Blueprint("coordinators", __name__)


@bp.before_request
def _coordinators_only() -> None:
    check_role(Role.COORDINATOR)


@bp.context_processor
def _visa_rules() -> dict[str, Any]:
    # Cheap: the engine parses the rule files once per process.
    return {"visa_rules": engine_gateway.rules_in_force()}


MAX_PAGE = 100_000  # far past any real list; keeps OFFSET within a 64-bit integer


def page_number() -> int:
    """The ?page= argument, clamped to a sane range."""
    page = request.args.get("page", 1, type=int) or 1
    return min(max(page, 1), MAX_PAGE)

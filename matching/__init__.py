"""K-Export Warrior Match: the matching engine (no Flask, no database).

Entry points (the contract, ``/work/shared/CONTRACT.md``):

* ``run`` (one cycle) and ``explain_pair`` (one pair) - ``matching.pipeline``;
* ``StudentProfile``, ``SMEProfile`` - ``matching.profiles``;
* ``Reason``, ``REASON_KEYS`` - ``matching.explanations``;
* ``MatchModel`` (two-sided scores, acceptability) - ``matching.model``, on the
  criterion blocks of ``matching.features``; shortlists in
  ``matching.shortlists``;
* ``assign.stable`` / ``assign.optimal`` - assignment;
* ``metrics`` - total score, placed share, blocking pairs.
"""

from . import assign, learning, metrics
from .assign import optimal, stable
from .explanations import REASON_KEYS, Reason
from .features import FACTORS, MAIN_FACTORS
from .model import DEFAULT_WEIGHTS, SIDES, MatchModel, side_weights
from .pipeline import MatchResult, ProposedPair, explain_pair, run
from .profiles import SMEProfile, StudentProfile
from .shortlists import Candidates

__all__ = [
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "MAIN_FACTORS",
    "REASON_KEYS",
    "SIDES",
    "Candidates",
    "MatchModel",
    "MatchResult",
    "ProposedPair",
    "Reason",
    "SMEProfile",
    "StudentProfile",
    "assign",
    "explain_pair",
    "learning",
    "metrics",
    "optimal",
    "run",
    "side_weights",
    "stable",
]

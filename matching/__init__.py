"""K-Export Warrior Match: the matching engine (no Flask, no database).

Entry points (the contract, ``/work/shared/CONTRACT.md``):

* ``run`` (one cycle), ``check_pair`` (one pair: acceptable, score, reasons,
  blocked codes) and ``explain_pair`` - ``matching.pipeline``;
* ``BLOCK_CODES``, ``load_rules``, ``RuleTable`` - ``matching.eligibility``
  (visa rules as data in ``matching/rules/``);
* ``StudentProfile``, ``SMEProfile`` - ``matching.profiles``;
* ``Reason``, ``REASON_KEYS`` - ``matching.explanations``;
* ``MatchModel`` (two-sided scores, acceptability) - ``matching.model``, on the
  criterion blocks of ``matching.features``; shortlists in
  ``matching.shortlists``;
* ``assign.stable`` / ``assign.optimal`` - assignment;
* ``metrics`` - total score, placed share, blocking pairs.
"""

from . import assign, eligibility, learning, metrics
from .assign import optimal, stable
from .eligibility import BLOCK_CODES, RuleTable, load_rules
from .explanations import REASON_KEYS, Reason
from .features import ALL_FACTORS, FACTORS, MAIN_FACTORS
from .model import DEFAULT_WEIGHTS, SIDES, MatchModel, side_weights
from .pipeline import MatchResult, PairCheck, ProposedPair, check_pair, explain_pair, run
from .profiles import SMEProfile, StudentProfile
from .shortlists import Candidates

__all__ = [
    "ALL_FACTORS",
    "BLOCK_CODES",
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "MAIN_FACTORS",
    "REASON_KEYS",
    "SIDES",
    "Candidates",
    "MatchModel",
    "MatchResult",
    "PairCheck",
    "ProposedPair",
    "Reason",
    "RuleTable",
    "SMEProfile",
    "StudentProfile",
    "assign",
    "check_pair",
    "eligibility",
    "explain_pair",
    "learning",
    "load_rules",
    "metrics",
    "optimal",
    "run",
    "side_weights",
    "stable",
]

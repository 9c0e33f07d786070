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

from . import assign, compute, eligibility, learning, metrics, taxonomy
from .assign import optimal, stable
from .eligibility import BLOCK_CODES, RuleTable, load_rules
from .explanations import REASON_KEYS, Reason
from .features import ALL_FACTORS, FACTORS, MAIN_FACTORS
from .model import DEFAULT_WEIGHTS, SIDES, MatchModel, side_weights
from .pipeline import MatchResult, PairCheck, ProposedPair, check_pair, explain_pair, run
from .profiles import SMEProfile, StudentProfile
from .shortlists import Candidates

# Two costs paid once per process, at import rather than inside the first
# cycle: Babel's CLDR territory data (the languages of each market) and the
# scan for the BLAS libraries to hold to one thread. The app imports
# ``matching`` at start-up and runs cycles in its long-lived scheduler, so
# they were only ever paid by a process's first cycle (~13 ms of a 1,000 x
# 3,000 one); now they are paid before it (issue 14, docs/engine.md).
taxonomy.load_cldr()
compute.load_blas_controller()

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

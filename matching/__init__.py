"""K-Export Warrior Match: the matching engine (no Flask, no database).

Public entry points:

* ``matching.pipeline.run`` / ``matching.pipeline.explain_pair`` - one cycle;
* ``matching.model.MatchModel`` - two-sided scores, shortlists, reasons;
* ``matching.assign.stable`` / ``matching.assign.optimal`` - assignment;
* ``matching.metrics`` - total score, placed share, blocking pairs.
"""

from .assign import optimal, stable
from .model import DEFAULT_WEIGHTS, FACTORS, Candidates, MatchModel, Reason
from .pipeline import MatchResult, ProposedPair, explain_pair, run
from .profiles import SMEProfile, StudentProfile

__all__ = [
    "DEFAULT_WEIGHTS",
    "FACTORS",
    "Candidates",
    "MatchModel",
    "MatchResult",
    "ProposedPair",
    "Reason",
    "SMEProfile",
    "StudentProfile",
    "explain_pair",
    "optimal",
    "run",
    "stable",
]

"""The coordinators' area: one blueprint (`coordinators.*`), its views split by subject, as CTFd
splits its admin area. Importing the modules registers their views on the blueprint."""

from app.coordinators import cycles, data, matches, people
from app.coordinators.common import bp

__all__ = ["bp", "cycles", "data", "matches", "people"]

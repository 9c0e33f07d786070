"""Synthetic, realistically skewed populations for tests and benchmarks.

Shares are rough orders of magnitude, not statistics: many students come
from a few countries (Vietnam, China, Uzbekistan, Mongolia, Nepal, ...), SME
markets follow Korea's SME export destinations (China, the US, Vietnam,
Japan, Hong Kong, ...) and industries lean to cosmetics, food, machinery,
electronics and auto parts. Deterministic for a given seed.
"""

from __future__ import annotations

import datetime
from dataclasses import replace

import numpy as np

from .profiles import SMEProfile, StudentProfile
from .taxonomy import REGIONS

_NATIONS = {  # nationality: (share, native language)
    "VN": (0.30, "vi"),
    "CN": (0.25, "zh"),
    "UZ": (0.08, "uz"),
    "MN": (0.06, "mn"),
    "NP": (0.05, "ne"),
    "ID": (0.04, "id"),
    "JP": (0.04, "ja"),
    "US": (0.03, "en"),
    "MY": (0.02, "ms"),
    "TH": (0.02, "th"),
    "IN": (0.02, "hi"),
    "KZ": (0.02, "kk"),
    "RU": (0.02, "ru"),
    "FR": (0.01, "fr"),
    "MX": (0.01, "es"),
    "BD": (0.01, "bn"),
    "PH": (0.01, "en"),
    "DE": (0.01, "de"),
}
_MARKETS = {
    "CN": 0.20,
    "US": 0.17,
    "VN": 0.12,
    "JP": 0.10,
    "HK": 0.05,
    "TW": 0.04,
    "ID": 0.04,
    "TH": 0.03,
    "MY": 0.03,
    "IN": 0.03,
    "PH": 0.02,
    "SG": 0.02,
    "DE": 0.02,
    "MX": 0.02,
    "AE": 0.02,
    "RU": 0.02,
    "UZ": 0.01,
    "MN": 0.01,
    "KZ": 0.01,
    "AU": 0.01,
    "CA": 0.01,
    "FR": 0.01,
    "GB": 0.01,
}
_IND_WEIGHT = {
    "cosmetics": 0.14,
    "processed_food": 0.12,
    "machinery": 0.11,
    "electronics": 0.10,
    "auto_parts": 0.09,
    "software_it": 0.06,
    "fashion_textiles": 0.05,
    "medical_devices": 0.04,
    "household_goods": 0.04,
    "chemicals": 0.03,
    "plastics_rubber": 0.03,
    "content_games": 0.03,
    "agri_fishery": 0.03,
    "pharma_bio": 0.03,
    "metals": 0.02,
    "semiconductors": 0.02,
    "energy_environment": 0.01,
    "furniture_interior": 0.01,
    "construction_materials": 0.01,
    "shipbuilding_marine": 0.01,
    "logistics_services": 0.01,
    "education_services": 0.01,
}
_REGION_WEIGHT = np.array(
    [
        0.25,
        0.06,
        0.04,
        0.06,
        0.03,
        0.04,
        0.02,
        0.01,
        0.28,
        0.02,
        0.03,
        0.04,
        0.02,
        0.02,
        0.03,
        0.04,
        0.01,
    ]
)
_LEVELS = ("native", "fluent", "business", "conversational", "basic")
_WORDS = (
    "skincare beauty export marketing buyer social media trade fair food snack machine "
    "parts factory software game app fashion design logistics retail online platform "
    "distribution translation research quality brand consumer"
).split()


def _p(d: dict[str, float]) -> tuple[list[str], np.ndarray]:
    keys = list(d)
    w = np.array([d[k] for k in keys], dtype=float)
    return keys, w / w.sum()


def population(
    n_students: int, n_smes: int, seed: int = 0, text: bool = True
) -> tuple[list[StudentProfile], list[SMEProfile]]:
    """Make a skewed synthetic population.

    Parameters
    ----------
    n_students, n_smes : int
    seed : int
    text : bool
        Add short free texts.

    Returns
    -------
    students, smes : lists of profiles
        Ids are 1..n in each list.
    """
    rng = np.random.default_rng(seed)
    nat_keys, nat_p = _p({k: v[0] for k, v in _NATIONS.items()})
    mk_keys, mk_p = _p(_MARKETS)
    ind_keys, ind_p = _p(_IND_WEIGHT)
    reg_p = _REGION_WEIGHT / _REGION_WEIGHT.sum()
    nat = rng.choice(len(nat_keys), n_students, p=nat_p)
    students: list[StudentProfile] = []
    for i in range(n_students):
        c = nat_keys[nat[i]]
        langs = {_NATIONS[c][1]: "native"}
        if rng.random() < 0.7:
            langs.setdefault("en", _LEVELS[int(rng.integers(1, 5))])
        if rng.random() < 0.15:
            other = _NATIONS[nat_keys[int(rng.choice(len(nat_keys), p=nat_p))]][1]
            langs.setdefault(other, _LEVELS[int(rng.integers(1, 5))])
        markets = tuple(
            dict.fromkeys(
                [c]
                + [mk_keys[j] for j in rng.choice(len(mk_keys), int(rng.integers(0, 3)), p=mk_p)]
            )
        )
        inds = tuple(
            dict.fromkeys(
                ind_keys[j] for j in rng.choice(len(ind_keys), int(rng.integers(1, 4)), p=ind_p)
            )
        )
        regs = tuple(
            dict.fromkeys(REGIONS[j] for j in rng.choice(17, int(rng.integers(1, 3)), p=reg_p))
        )
        words = " ".join(rng.choice(_WORDS, 8)) if text else ""
        students.append(
            StudentProfile(
                i + 1,
                c,
                langs,
                markets,
                inds,
                regs,
                int(rng.integers(0, 7)),
                int(rng.integers(5, 30)),
                words,
            )
        )
    smes: list[SMEProfile] = []
    for j in range(n_smes):
        markets = tuple(
            dict.fromkeys(
                mk_keys[x] for x in rng.choice(len(mk_keys), int(rng.integers(1, 5)), p=mk_p)
            )
        )
        inds = tuple(
            dict.fromkeys(
                ind_keys[x] for x in rng.choice(len(ind_keys), int(rng.integers(1, 3)), p=ind_p)
            )
        )
        needed: tuple[str, ...] = ("en",) if rng.random() < 0.1 else ()
        words = " ".join(rng.choice(_WORDS, 12)) if text else ""
        smes.append(
            SMEProfile(
                j + 1,
                inds,
                markets,
                needed,
                REGIONS[int(rng.choice(17, p=reg_p))],
                int(rng.choice([1, 1, 2, 2, 3, 5])),
                int(rng.choice([0, 0, 0, 1, 2, 3])),
                words,
            )
        )
    return students, smes


_VISAS = {"d2": 0.70, "d4": 0.15, "d10": 0.06, "e7": 0.03, "f2": 0.02, "f4": 0.02, "f5": 0.01,
          "f6": 0.01}  # fmt: skip
_DEGREES = {"bachelor": 0.55, "master": 0.28, "doctorate": 0.10, "associate": 0.07}
_SECTIONS = {"C": 0.60, "G": 0.18, "J": 0.10, "M": 0.07, "F": 0.03, "H": 0.02}


def with_visa_fields(
    students: list[StudentProfile], smes: list[SMEProfile], seed: int = 0
) -> tuple[list[StudentProfile], list[SMEProfile]]:
    """Add visa, degree, availability and SME section / hours / period fields.

    Rough shares as Korea's international students (most on D-2 degree
    visas, then D-4 language trainees, a few job seekers and residents) and
    programme SMEs (mostly manufacturers). Deterministic for a given seed.

    Parameters
    ----------
    students, smes : lists of profiles
    seed : int

    Returns
    -------
    students, smes : lists of profiles
        Copies with the fields set.
    """
    rng = np.random.default_rng(seed + 7919)
    v_keys, v_p = _p(_VISAS)
    d_keys, d_p = _p(_DEGREES)
    s_keys, s_p = _p(_SECTIONS)
    start = datetime.date(2026, 3, 1)
    out_students = []
    for s in students:
        visa = v_keys[int(rng.choice(len(v_keys), p=v_p))]
        degree = d_keys[int(rng.choice(len(d_keys), p=d_p))] if visa == "d2" else ""
        degree = "language" if visa == "d4" else degree
        frm = start + datetime.timedelta(days=int(rng.integers(0, 120)))
        until = frm + datetime.timedelta(days=int(rng.integers(60, 360)))
        open_ended = rng.random() < 0.4
        out_students.append(
            replace(
                s,
                visa=visa,
                degree_level=degree,
                year_of_study=int(rng.integers(1, 5)) if degree else 0,
                months_in_korea=int(rng.integers(1, 48)),
                available_from=None if open_ended else frm,
                available_until=None if open_ended else until,
                current_workplaces=int(rng.choice([0, 0, 0, 0, 0, 0, 1, 1, 2])),
            )
        )
    out_smes = []
    for e in smes:
        p_start = start + datetime.timedelta(days=int(rng.integers(0, 200)))
        has_period = rng.random() < 0.5
        out_smes.append(
            replace(
                e,
                ksic_section=s_keys[int(rng.choice(len(s_keys), p=s_p))],
                hours_needed=int(rng.choice([0, 0, 0, 10, 10, 15, 20, 20, 30, 40])),
                period_start=p_start if has_period else None,
                period_end=p_start + datetime.timedelta(days=int(rng.integers(30, 180)))
                if has_period
                else None,
            )
        )
    return out_students, out_smes

"""Two-sided weights: each view scored with its own set; reasons still add up."""

from __future__ import annotations

import numpy as np
import pytest

from matching import MatchModel, run, side_weights
from matching.synthetic import population


def test_each_view_uses_its_own_weights() -> None:
    students, smes = population(30, 15, seed=3)
    market_only = {"language": 0, "market": 1, "industry": 0, "region": 0, "korean": 0, "text": 0}
    flat_m = MatchModel(weights=market_only, random_state=0).fit(students, smes)
    flat_d = MatchModel(random_state=0).fit(students, smes)
    both = MatchModel(weights={"sme_view": market_only, "student_view": None}, random_state=0).fit(
        students, smes
    )
    i, j = np.arange(30), np.arange(30) % 15
    _, _, sme_m = flat_m.score_pairs(i, j)
    _, stu_d, _ = flat_d.score_pairs(i, j)
    comb, stu, sme = both.score_pairs(i, j)
    np.testing.assert_allclose(sme, sme_m)
    np.testing.assert_allclose(stu, stu_d)
    np.testing.assert_allclose(comb, 0.5 * (sme + stu))
    for p in range(30):
        assert sum(r.weight for r in both.explain(i[p], j[p])) == pytest.approx(comb[p])
    assert run(students, smes, weights={"sme_view": market_only}).pairs


def test_side_weights_reads_both_forms() -> None:
    flat = side_weights({"market": 2.0})
    assert flat["sme_view"] == flat["student_view"]
    assert abs(sum(flat["sme_view"].values()) - 1) < 1e-12
    with pytest.raises(ValueError, match="two-sided"):
        side_weights({"sme_view": {}, "market": 1.0})
    with pytest.raises(ValueError, match="at least one"):
        side_weights({"student_view": {"language": 0, "market": 0, "industry": 0}})

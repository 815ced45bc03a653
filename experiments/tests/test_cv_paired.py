"""experiments/ml_cv_paired.py: the pairs it reads from grouped-CV results files and what it
concludes from them."""

import pytest

from experiments.ml_cv_paired import paired_comparison, parse_seeds, read_scores

RESULTS = """# grouped 4-fold cross-validation over DS1 records (DS2 not touched), seeds [0, 1]
fold 0: records 208, 215
fold 0 base seed 0: macro-F1 0.5000 (N 0.99), best epoch 4/8
fold 0 new seed 0: macro-F1 0.5500 (N 0.99), best epoch 4/8
fold 0 base seed 1: macro-F1 0.6000 (N 0.99), best epoch 4/8
fold 0 new seed 1: macro-F1 0.6200 (N 0.99), best epoch 4/8
fold 1 base seed 0: macro-F1 0.3000 (N 0.99), best epoch 4/8
fold 1 new seed 0: macro-F1 0.2900 (N 0.99), best epoch 4/8
fold 1 base seed 1: macro-F1 0.4000 (N 0.99), best epoch 4/8
fold 1 new seed 1: macro-F1 0.4400 (N 0.99), best epoch 4/8
fold 1 new seed 2: macro-F1 0.9000 (N 0.99), best epoch 4/8
fold 0 new (ensemble of 2 seeds): macro-F1 0.6000 (N 0.99)
new: mean macro-F1 0.4500, sd 0.1000 over 4 folds
"""


@pytest.fixture
def path(tmp_path):
    """The results file above, as ml_grouped_cv.py writes one."""
    results = tmp_path / "cv.txt"
    results.write_text(RESULTS)
    return results


def test_seed_ranges_read_as_sets():
    assert parse_seeds("0-3") == {0, 1, 2, 3}
    assert parse_seeds("4,5") == {4, 5}
    assert parse_seeds("1-2,7") == {1, 2, 7}


def test_scores_are_read_per_candidate_fold_and_seed_and_filtered_by_seed(path):
    scores = read_scores(str(path))
    assert len(scores) == 9  # ensemble and summary lines are not single-seed scores
    assert scores[("new", 1, 2)] == 0.9
    assert set(read_scores(f"{path}:1")) == {(n, f, 1) for n in ("base", "new") for f in (0, 1)}


def test_only_common_fold_seed_pairs_are_compared(path):
    lines, figures = paired_comparison(read_scores(str(path)), "base", "new")
    # seed 2 of fold 1 has no "base" partner and is left out: gains +0.05, +0.02, -0.01, +0.04
    assert figures["pairs"] == 4
    assert figures["mean_gain"] == pytest.approx(0.025)
    assert figures["wins"] == 3 and figures["folds_ahead"] == 2
    assert "fold 1: base 0.3500, new 0.3650 (+0.0150, 2 seeds)" in lines
    assert 0 < figures["t_test_p"] < 0.5  # a gain, not a proven one with four pairs
    reversed_p = paired_comparison(read_scores(str(path)), "new", "base")[1]["t_test_p"]
    assert reversed_p == pytest.approx(1 - figures["t_test_p"])


def test_too_few_pairs_is_an_error(path):
    with pytest.raises(ValueError, match="fewer than two"):
        paired_comparison(read_scores(f"{path}:2"), "base", "new")

"""AF scored as EC57's epicmp scores it (ecg.features.ec57_af; issue 20)."""

from __future__ import annotations

import pytest

from ecg.features.ec57_af import Ec57Tally, ec57_af_scores, ec57_af_tally
from ecg.features.episodes import episode_scores

AFIB = [(0.0, 1000.0), (1200.0, 1800.0)]
FLUTTER = [(1000.0, 1200.0)]


def test_flutter_is_neither_reference_af_nor_a_false_detection():
    tally = ec57_af_tally(AFIB, FLUTTER, [(100.0, 1800.0)])
    # from 5 minutes on: AFIB 300-1000 and 1200-1800, the detection 300-1800 less its 200 s of
    # flutter
    assert tally == Ec57Tally(2, 2, 1, 1, 1300.0, 1300.0, 1300.0)
    s = ec57_af_scores([tally])
    assert s.duration_sensitivity == 1.0 and s.duration_positive_predictivity == 1.0
    # scored as one AFIB + AFL episode over the whole recording, it was short of both
    strict = episode_scores([(0.0, 1800.0)], [(100.0, 1800.0)])
    assert strict.duration_sensitivity == pytest.approx(1700 / 1800, abs=1e-4)


def test_detections_in_flutter_or_the_learning_period_are_not_scored():
    inside_flutter = ec57_af_tally(AFIB, FLUTTER, [(1050.0, 1150.0)])
    assert inside_flutter.detected_episodes == 0 and inside_flutter.detected_s == 0
    learning = ec57_af_tally(AFIB, FLUTTER, [(10.0, 200.0)])
    assert learning.detected_episodes == 0 and learning.reference_found == 0
    # a detection that starts in flutter begins where the flutter ends
    late = ec57_af_tally(AFIB, FLUTTER, [(1100.0, 1500.0)])
    assert (late.detected_episodes, late.detected_true, late.detected_s) == (1, 1, 300.0)
    # one that ends in flutter ends where the flutter begins
    early = ec57_af_tally(AFIB, FLUTTER, [(900.0, 1100.0)])
    assert early.detected_s == 100.0 and early.overlap_s == 100.0


def test_false_detections_count_and_tallies_pool_by_summing():
    a = ec57_af_tally(AFIB, FLUTTER, [(400.0, 900.0), (1850.0, 1900.0)])
    assert (a.detected_episodes, a.detected_true) == (2, 1)
    b = ec57_af_tally([], [], [(500.0, 600.0)])  # AF called in a recording without any
    assert (b.reference_episodes, b.detected_episodes, b.detected_true) == (0, 1, 0)
    s = ec57_af_scores([a, b])
    assert s.episode_sensitivity == 0.5  # 1 of the 2 AFIB episodes found
    assert s.episode_positive_predictivity == pytest.approx(1 / 3, abs=1e-4)
    assert s.duration_positive_predictivity == pytest.approx(500 / 650, abs=1e-4)
    assert ec57_af_scores([]).episode_sensitivity is None

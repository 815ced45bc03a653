"""Beat templates and per-patient corrections (issue 20): deterministic grouping by morphology,
corrections that move similar beats and leave dissimilar ones alone."""

import numpy as np

from ecg.dsp.signal import prepare_signal
from ecg.features import corrections, templates
from ecg.features.beats import extract_windows, rr_features
from ecg.training.metrics import bootstrap_intervals, class_f1_intervals

from .conftest import FS, synthetic_ecg

R_INDEX = int(0.25 * FS)


def beats(n_beats: int = 60, seed: int = 0):
    sig, peaks, symbols = synthetic_ecg(n_beats, seed)
    windows, kept = extract_windows(prepare_signal(sig, FS, FS), peaks, FS, pre_s=0.25, post_s=0.45)
    return windows, rr_features(peaks, FS)[kept], symbols[kept]


def test_normal_and_wide_pvcs_fall_in_different_groups():
    windows, _, symbols = beats()
    labels = (symbols == "V").astype(int)
    groups = templates.group_beats(windows, FS, R_INDEX, labels=labels, classes=["N", "V"])
    assert len(groups) == 2
    normal, pvc = groups  # largest first
    assert set(symbols[normal.index]) == {"N"} and set(symbols[pvc.index]) == {"V"}
    assert normal.count + pvc.count == len(windows)
    assert abs(normal.share + pvc.share - 1.0) < 1e-9
    assert normal.class_mix == {"N": 1.0} and pvc.class_mix == {"V": 1.0}
    assert normal.medoid in normal.index and pvc.medoid in pvc.index
    # the median beat is a beat in mV on the window's axis: the PVC's is negative at the R peak
    assert normal.median_beat.shape == (windows.shape[1],)
    assert normal.median_beat[R_INDEX] > 1.0 and pvc.median_beat[R_INDEX] < -0.5


def test_identical_beats_share_one_group_and_grouping_is_deterministic():
    windows, _, _ = beats()
    copies = np.concatenate([windows, windows, windows])  # every beat three times
    # a sample smaller than the beats: the nearest-template pass must still keep copies together
    vectors = templates.morphology_vectors(copies, FS, R_INDEX)
    first = templates.cluster_vectors(vectors, seed=3, sample_max=25)
    again = templates.cluster_vectors(vectors, seed=3, sample_max=25)
    np.testing.assert_array_equal(first, again)
    n = len(windows)
    np.testing.assert_array_equal(first[:n], first[n : 2 * n])
    np.testing.assert_array_equal(first[:n], first[2 * n :])


def test_a_rare_morphology_the_sample_missed_gets_its_own_group():
    windows, _, symbols = beats(200)
    normal = windows[symbols == "N"]
    odd = -1.0 * normal[:3]  # three inverted beats among 160 normal ones
    mixed = np.concatenate([normal, odd])
    vectors = templates.morphology_vectors(mixed, FS, R_INDEX)
    group = templates.cluster_vectors(vectors, seed=0, sample_max=20)
    assert len(set(group[-3:])) == 1 and group[-1] not in set(group[:-3])


def features_of(windows, rr, probs):
    morph = templates.morphology_vectors(windows, FS, R_INDEX)
    return corrections.review_features(morph, rr, probs)


def test_corrections_relabel_similar_beats_and_leave_dissimilar_ones():
    # 58 beats: the last is normal (a last PVC has no compensatory pause, so it looks different)
    windows, rr, symbols = beats(58)
    is_v = symbols == "V"
    # a model that calls every beat normal with some doubt
    probs = np.tile([0.8, 0.2], (len(windows), 1))
    feats = features_of(windows, rr, probs)
    first_v = int(np.flatnonzero(is_v)[0])
    fixed = corrections.reclassify(feats, probs, np.array([first_v]), np.array([1]))
    predicted = fixed.argmax(axis=1)
    assert (predicted[is_v] == 1).all()  # every PVC like the one relabelled
    assert (predicted[~is_v] == 0).all()  # normal beats keep the model's answer
    np.testing.assert_allclose(fixed[~is_v], probs[~is_v], atol=0.05)  # barely moved
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0)


def test_confirmed_beats_keep_the_label_given_and_no_correction_changes_nothing():
    windows, rr, symbols = beats()
    probs = np.tile([0.3, 0.7], (len(windows), 1))
    feats = features_of(windows, rr, probs)
    confirmed = np.array([0, 4, 5])
    given = np.array([1, 0, 1])  # even against the beats' neighbours
    fixed = corrections.reclassify(feats, probs, confirmed, given)
    np.testing.assert_array_equal(fixed[confirmed].argmax(axis=1), given)
    np.testing.assert_array_equal(fixed[confirmed].max(axis=1), 1.0)
    unchanged = corrections.reclassify(feats, probs, np.array([], int), np.array([], int))
    np.testing.assert_array_equal(unchanged, probs)


def test_class_f1_intervals_bracket_the_pooled_f1():
    per_record = {
        "a": [[50, 2], [1, 10]],
        "b": [[40, 0], [3, 5]],
        "c": [[60, 5], [0, 20]],
    }
    f1 = class_f1_intervals(per_record, ["N", "V"])
    pooled = np.sum(list(per_record.values()), axis=0)
    v_f1 = 2 * pooled[1, 1] / (pooled[1].sum() + pooled[:, 1].sum())
    assert f1["V"][0] <= v_f1 <= f1["V"][1]
    assert bootstrap_intervals(per_record, ["N", "V"])["records"] == 3

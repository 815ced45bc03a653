"""Beat templates and per-patient corrections (issue 20): deterministic grouping by morphology,
corrections that move similar beats and leave dissimilar ones alone."""

import numpy as np
import pytest

from ecg.dsp.signal import prepare_signal
from ecg.features import corrections, templates
from ecg.features.beats import extract_windows, rr_features
from ecg.training.aami import ec57_intervals
from ecg.training.metrics import bootstrap_intervals

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


def premature_patient(n: int = 300, seed: int = 0):
    """N and A beats of one shape (morphology noise only) that differ in timing: every 10th beat
    comes at 55% of the 0.8 s cycle, then a pause. The "model" calls every beat N with some
    doubt, except every 15th normal-timed beat, which it calls A confidently (its mistake)."""
    rng = np.random.default_rng(seed)
    is_a = np.arange(n) % 10 == 5
    gaps = np.where(is_a, 0.44, np.where(np.roll(is_a, 1), 1.16, 0.8))
    peaks = np.round(np.cumsum(gaps + rng.normal(0, 0.01, n)) * FS).astype(int)
    rr = rr_features(peaks, FS)
    morph = 0.5 + rng.normal(0, 0.15, (n, 40))  # one shape for both classes, noisy
    probs = np.tile([0.0, 0.75, 0.25], (n, 1))  # classes L, N, A
    false_a = (np.arange(n) % 15 == 7) & ~is_a
    probs[false_a] = [0.0, 0.05, 0.95]
    return morph, rr, probs, is_a, false_a


# The scenario's false A calls (0.95) are below the confidence that makes a model call a
# pseudo-label here, whatever the shipped PSEUDO_CONFIDENCE (chosen on DS1, 0.9 or 0.99).
PREMATURE_STEP = {"premature": True, "pseudo_confidence": 0.99, "confirmed_weight": 1000.0}


def test_premature_beats_of_one_shape_follow_the_confirmed_timing():
    morph, rr, probs, is_a, false_a = premature_patient()
    classes = ["L", "N", "A"]
    confirmed = np.array([5, 8])  # one premature beat confirmed A, one on time confirmed N
    given = np.array([2, 1])
    fixed = corrections.teach(morph, rr, probs, confirmed, given, classes, **PREMATURE_STEP)
    called = fixed.argmax(axis=1)
    rest = np.setdiff1d(np.arange(len(probs)), confirmed)
    assert (called[rest][is_a[rest]] == 2).all()  # every other premature beat: A
    assert (called[rest][~is_a[rest]] == 1).all()  # on time, the model's false A calls too: N
    assert false_a[rest].any()
    np.testing.assert_array_equal(fixed[confirmed].argmax(axis=1), given)
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0)
    # the vote alone cannot tell them apart: one shape, and the rhythm is one block of three
    vote = corrections.teach(morph, rr, probs, confirmed, given, classes, premature=False)
    assert (vote.argmax(axis=1)[rest] != called[rest]).any()
    again = corrections.teach(morph, rr, probs, confirmed, given, classes, **PREMATURE_STEP)
    np.testing.assert_array_equal(fixed, again)  # deterministic


def test_premature_step_without_any_a_makes_the_model_a_calls_n_and_needs_n_and_a():
    morph, rr, probs, is_a, false_a = premature_patient()
    on_time = ~is_a & ~false_a
    probs[is_a] = [0.0, 0.9, 0.1]  # the model misses the premature beats entirely
    confirmed = np.flatnonzero(on_time)[:3]
    fixed = corrections.teach(
        morph, rr, probs, confirmed, np.array([1, 1, 1]), ["L", "N", "A"], **PREMATURE_STEP
    )
    assert (fixed.argmax(axis=1) == 1).all()  # no A confirmed or confidently called: all N
    # classes without A (or nothing confirmed): the vote's answer stands
    no_a = corrections.teach(
        morph, rr, probs, confirmed, np.array([1, 1, 1]), ["L", "N", "V"], ventricular=False
    )
    vote = corrections.teach(
        morph, rr, probs, confirmed, np.array([1, 1, 1]), ["L", "N", "A"], premature=False
    )
    np.testing.assert_array_equal(no_a, vote)
    empty = corrections.teach(
        morph, rr, probs, np.array([], int), np.array([], int), ["L", "N", "A"]
    )
    np.testing.assert_array_equal(empty, probs)


def ventricular_patient(n: int = 120, seed: int = 0):
    """Normal beats (narrow, one shape) on a 0.8 s cycle and wide PVCs (another shape) every
    8th beat at 55% of the cycle, then a pause. Classes N, A, V; the "model" calls the PVCs V
    and the normal beats N, except every 12th normal beat, which it calls V (its mistake)."""
    rng = np.random.default_rng(seed)
    is_v = np.arange(n) % 8 == 4
    gaps = np.where(is_v, 0.44, np.where(np.roll(is_v, 1), 1.16, 0.8))
    peaks = np.round(np.cumsum(gaps + rng.normal(0, 0.01, n)) * FS).astype(int)
    rr = rr_features(peaks, FS)
    morph = np.where(is_v[:, None], -0.8, 0.5) + rng.normal(0, 0.03, (n, 40))
    probs = np.where(is_v[:, None], [0.05, 0.0, 0.95], [0.9, 0.05, 0.05])
    false_v = (np.arange(n) % 12 == 6) & ~is_v
    probs[false_v] = [0.2, 0.0, 0.8]
    return morph, rr, probs, is_v, false_v


def test_ventricular_step_gives_on_time_beats_like_a_confirmed_n_back_and_keeps_pvcs():
    morph, rr, probs, is_v, false_v = ventricular_patient()
    confirmed = np.array([4, 8])  # one PVC confirmed V, one normal beat confirmed N
    given = np.array([2, 0])
    twin = int(np.flatnonzero(false_v)[0])
    morph[twin] = morph[8]  # a beat called V with exactly the confirmed N's shape
    fixed = corrections.ventricular_step(probs, probs, morph, rr, confirmed, given, ventricular=2)
    called = fixed.argmax(axis=1)
    rest = np.setdiff1d(np.arange(len(probs)), confirmed)
    assert called[twin] == 0 and fixed[twin, 2] == 0.0
    assert (called[rest][false_v[rest]] == 0).all()  # the model's false V calls: N again
    assert (called[rest][is_v[rest]] == 2).all()  # wide premature beats stay V
    np.testing.assert_array_equal(fixed[~false_v], probs[~false_v])  # nothing else moved
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0)
    # a beat of normal shape that comes early is not given back: it may be a narrow PVC
    early = probs.copy()
    early[is_v] = [0.2, 0.0, 0.8]
    morph_early = morph.copy()
    morph_early[is_v] = morph[8]
    morph_early[4] = morph[4]  # the confirmed PVC keeps its wide shape
    kept = corrections.ventricular_step(
        early, early, morph_early, rr, confirmed, given, ventricular=2
    )
    assert (kept[rest][is_v[rest]].argmax(axis=1) == 2).all()
    # ... unless the timing is not asked
    free = corrections.ventricular_step(
        early, early, morph_early, rr, confirmed, given, ventricular=2, on_time=np.inf
    )
    assert (free[rest][is_v[rest]].argmax(axis=1) == 0).all()


def test_ventricular_step_never_changes_confirmed_beats_and_needs_a_confirmed_non_v():
    morph, rr, probs, is_v, false_v = ventricular_patient()
    confirmed = np.array([4, 6, 8])  # beat 6 (a false V call) confirmed V against its shape
    given = np.array([2, 2, 0])
    voted = corrections.reclassify(probs, probs, confirmed, given)  # one-hot confirmed rows
    fixed = corrections.ventricular_step(voted, probs, morph, rr, confirmed, given, ventricular=2)
    np.testing.assert_array_equal(fixed[confirmed], voted[confirmed])
    again = corrections.ventricular_step(voted, probs, morph, rr, confirmed, given, ventricular=2)
    np.testing.assert_array_equal(fixed, again)  # deterministic
    only_v = corrections.ventricular_step(
        probs, probs, morph, rr, np.array([4]), np.array([2]), ventricular=2
    )
    np.testing.assert_array_equal(only_v, probs)  # nothing confirmed outside V: unchanged
    none = corrections.ventricular_step(
        probs, probs, morph, rr, np.array([], int), np.array([], int), ventricular=2
    )
    np.testing.assert_array_equal(none, probs)
    # only normal beats confirmed, every beat on time: a wide beat unlike the confirmed ones
    # keeps its V (nearly all of it), one just like them is given back
    steady = rr_features(np.round(np.arange(len(probs)) * 0.8 * FS).astype(int), FS)
    only_n = corrections.ventricular_step(
        probs, probs, morph, steady, np.array([8]), np.array([0]), ventricular=2
    )
    assert (only_n[is_v].argmax(axis=1) == 2).all()
    np.testing.assert_allclose(only_n[is_v], probs[is_v], atol=1e-6)
    assert (only_n[false_v].argmax(axis=1) == 0).all()


def test_teach_with_the_ventricular_step_undoes_a_vote_carried_by_many_confirmed_pvcs():
    # the vote sums weights: ten confirmed late PVCs (on time, a shape 0.1 mV off normal)
    # outvote the one confirmed normal beat for the normal beats, although the normal beat is
    # the nearest to them; the ventricular step gives them back
    rng = np.random.default_rng(0)
    n = 120
    is_v = np.arange(n) % 8 == 4
    peaks = np.round(np.cumsum(0.8 + rng.normal(0, 0.01, n)) * FS).astype(int)
    rr = rr_features(peaks, FS)
    morph = np.where(is_v[:, None], 0.4, 0.5) + rng.normal(0, 0.03, (n, 40))
    probs = np.where(is_v[:, None], [0.3, 0.0, 0.7], [0.7, 0.0, 0.3])
    confirmed = np.concatenate([np.flatnonzero(is_v)[:10], [9]])
    given = np.array([2] * 10 + [0])
    classes = ["N", "A", "V"]
    vote = corrections.teach(morph, rr, probs, confirmed, given, classes, ventricular=False)
    fixed = corrections.teach(morph, rr, probs, confirmed, given, classes, ventricular=True)
    rest = np.setdiff1d(np.arange(n), confirmed)
    normal, pvc = rest[~is_v[rest]], rest[is_v[rest]]
    assert (vote.argmax(axis=1)[normal] == 2).mean() > 0.5  # the flaw the step answers
    assert (fixed.argmax(axis=1)[normal] == 0).all()
    assert (fixed.argmax(axis=1)[pvc] == 2).all()  # nearest a confirmed PVC: still V
    np.testing.assert_array_equal(fixed[confirmed].argmax(axis=1), given)
    again = corrections.teach(morph, rr, probs, confirmed, given, classes, ventricular=True)
    np.testing.assert_array_equal(fixed, again)


def test_a_confirmed_fusion_beat_teaches_f_to_its_look_alikes_voted_v():
    # fusion beats: on time, a shape between normal and ventricular, which the model calls V
    rng = np.random.default_rng(1)
    n = 120
    peaks = np.round(np.cumsum(0.8 + rng.normal(0, 0.01, n)) * FS).astype(int)
    rr = rr_features(peaks, FS)
    is_f = np.arange(n) % 10 == 5
    morph = np.where(is_f[:, None], 0.1, 0.5) + rng.normal(0, 0.03, (n, 40))
    probs = np.where(is_f[:, None], [0.3, 0.0, 0.7], [0.9, 0.05, 0.05])
    classes = ["N", "A", "V", "F"]  # the model's three, then the review-only F
    fusion = int(np.flatnonzero(is_f)[0])
    confirmed, given = np.array([fusion, 9]), np.array([3, 0])
    fixed = corrections.teach(morph, rr, probs, confirmed, given, classes)
    assert fixed.shape == (n, 4)
    rest = np.setdiff1d(np.arange(n), confirmed)
    assert (fixed.argmax(axis=1)[rest][is_f[rest]] == 3).all()  # the look-alikes: F
    assert (fixed.argmax(axis=1)[rest][~is_f[rest]] == 0).all()  # normal beats stay N
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0)
    # no beat confirmed F: the F column stays empty and the answer is the three-class one
    plain = corrections.teach(morph, rr, probs, np.array([9]), np.array([0]), classes)
    np.testing.assert_array_equal(plain[:, 3], 0.0)
    three = corrections.teach(morph, rr, probs, np.array([9]), np.array([0]), classes[:3])
    np.testing.assert_allclose(plain[:, :3], three)


def test_rhythm_of_the_suggestions_skips_a_beat_marked_as_no_beat():
    # a steady 0.8-s rhythm with a false detection 0.3 s after beat 10: left in, beat 11 (the
    # false one) and the next real beat look premature / late; marked, the real beats are steady
    peaks = np.round(np.arange(20) * 0.8 * FS).astype(int)
    with_false = np.sort(np.append(peaks, peaks[10] + int(0.3 * FS)))
    marked = np.zeros(len(with_false), dtype=bool)
    marked[11] = True
    raw = rr_features(with_false, FS)
    fixed = corrections.rr_without(with_false, FS, marked)
    assert raw[12, 0] < 0.6  # the real beat after the false one: 0.5 s after it
    np.testing.assert_allclose(fixed[~marked, 0], 0.8, atol=0.01)  # every real beat: on time
    np.testing.assert_array_equal(fixed[11], raw[11])  # the marked one keeps its own row
    np.testing.assert_array_equal(corrections.rr_without(peaks, FS, np.zeros(20, bool)),
                                  rr_features(peaks, FS))  # fmt: skip


def test_ec57_f1_intervals_bracket_the_pooled_f1():
    classes = ["N", "SVEB", "VEB"]
    per_record = {
        "a": [[50, 1, 2], [1, 4, 0], [1, 0, 10]],
        "b": [[40, 2, 0], [0, 3, 1], [3, 0, 5]],
        "c": [[60, 0, 5], [2, 6, 0], [0, 1, 20]],
    }
    f1 = ec57_intervals(per_record, classes)["VEB"]["F1"]
    pooled = np.sum(list(per_record.values()), axis=0)
    v_f1 = 2 * pooled[2, 2] / (pooled[2].sum() + pooled[:, 2].sum())  # no F or Q column here
    assert f1[0] <= v_f1 <= f1[1]
    assert bootstrap_intervals(per_record, classes)["records"] == 3


def test_confirm_order_cards_then_early_normal_looking_beats_then_least_sure():
    from ecg.features.confirm_first import confirm_order

    n_looking = np.array([True] * 6 + [False] * 4)
    prematurity = np.array([0.0, -0.5, 0.1, -0.3, 0.0, 0.2, -0.9, 0.0, 0.0, 0.0])
    margin = np.array([0.9, 0.8, 0.05, 0.7, 0.6, 0.5, 0.4, 0.01, 0.3, 0.2])
    order = confirm_order([4, 9], n_looking, prematurity, margin, n=6, cards=10, premature=2)
    # cards first; the two earliest beats among the normal-looking ones (6 is earlier but is
    # not in a normal-looking group); then the smallest margins
    assert order == [(4, "card"), (9, "card"), (1, "premature"), (3, "premature"),
                     (7, "uncertain"), (2, "uncertain")]  # fmt: skip
    # never more than there are beats, never a beat twice, no early-beat step when premature=0
    everything = confirm_order([0], n_looking, prematurity, margin, n=50, premature=0)
    assert sorted(i for i, _ in everything) == list(range(10))
    assert {why for _, why in everything} == {"card", "uncertain"}


def test_whether_a_fusion_label_teaches_is_the_ds1_choice():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/review.json"
    chosen = json.loads(path.read_text())["choice_fusion"]["chosen"]["fusion_teaches"]
    assert corrections.FUSION_TEACHES is chosen
    assert corrections.REVIEW_ONLY_TEACHES["F"] is chosen
    assert ("F" in corrections.answer_labels(["N", "A", "V"])) is chosen


def test_the_shipped_review_settings_are_the_ds1_choices_in_review_json():
    """The cut, the vote's scales and the two steps' settings are what the DS1 choices in
    review.json picked, so a re-choice cannot be left half applied (scales re-chosen for
    one model while the app ships another's)."""
    import json
    from pathlib import Path

    from ecg.features import af_context, confirm_first, templates

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/review.json"
    results = json.loads(path.read_text())
    vote = results["choice"]["chosen"]
    assert templates.CUT_MV == vote["cut_mv"]
    assert corrections.MORPH_SCALE_MV == vote["morph_scale"]
    assert corrections.RHYTHM_SCALE == vote["rhythm_scale"]
    assert corrections.MODEL_SCALE == vote["model_scale"]
    premature = results["choice_premature"]["chosen"]
    assert confirm_first.PREMATURE_BEATS == premature["premature_beats"]
    assert corrections.PREMATURE_STEP is premature.get("premature", True)
    if corrections.PREMATURE_STEP:
        assert corrections.CONFIRMED_WEIGHT == premature["confirmed_weight"]
        assert corrections.PSEUDO_CONFIDENCE == premature["pseudo_confidence"]
        assert corrections.PREMATURE_MODEL_FEATURE is premature["model_feature"]
    ventricular = results["choice_ventricular"]["chosen"]
    assert corrections.VENTRICULAR is ventricular["ventricular"]
    if corrections.VENTRICULAR:
        assert corrections.ON_TIME == ventricular["on_time"]
        assert corrections.VENTRICULAR_SPACE == ventricular["ventricular_space"]
    assert af_context.SUGGESTIONS_IN_AF == results["choice_af_suggestions"]["chosen"]
    pooling = (results.get("choice_vote_pooling") or {}).get("chosen", {"pooling": "sum"})
    assert corrections.VOTE_POOLING == pooling["pooling"]  # "sum" until it was asked
    # the templates page offers the protocol the benchmark scored
    assert confirm_first.confirm_order.__kwdefaults__["premature"] == premature["premature_beats"]


def test_max_pooling_lets_the_nearest_confirmed_beat_outvote_a_class_confirmed_many_times():
    # 17 confirmed beats of class 1 at distance 1.5 from every test beat, one confirmed beat of
    # class 0 at distance 0.5: summed, class 1's weights win; pooled by max, the nearest does.
    rng = np.random.default_rng(0)
    test_beats = np.zeros((5, 3))
    many = np.tile([1.5, 0.0, 0.0], (17, 1)) + rng.normal(0, 1e-3, (17, 3))
    near = np.array([[0.0, 0.5, 0.0]])
    features = np.concatenate([test_beats, many, near])
    probs = np.tile([0.5, 0.5], (len(features), 1))
    confirmed = np.arange(5, len(features))
    labels = np.array([1] * 17 + [0])
    summed = corrections.reclassify(features, probs, confirmed, labels, pooling="sum")
    nearest = corrections.reclassify(features, probs, confirmed, labels, pooling="max")
    assert (summed[:5].argmax(axis=1) == 1).all()
    assert (nearest[:5].argmax(axis=1) == 0).all()
    # the confirmed beats keep their labels either way
    np.testing.assert_array_equal(nearest[confirmed].argmax(axis=1), labels)
    # one confirmed beat per class: the two poolings agree
    one_each = np.array([5, len(features) - 1])
    np.testing.assert_allclose(
        corrections.reclassify(features, probs, one_each, np.array([1, 0]), pooling="sum"),
        corrections.reclassify(features, probs, one_each, np.array([1, 0]), pooling="max"),
    )
    with pytest.raises(ValueError, match="pooling"):
        corrections.reclassify(features, probs, confirmed, labels, pooling="mean")

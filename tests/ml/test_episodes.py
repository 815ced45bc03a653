"""Rhythm episodes from beat times and classes (ecg.features.episodes; issue 20, point 3)."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.features.episodes import (
    af_baseline,
    af_episodes,
    detect_episodes,
    episode_scores,
    isolated_premature,
    reference_rhythm_intervals,
    usable_intervals,
)

FS = 360.0


def beats(rr_s: np.ndarray, labels=None):
    peaks = np.round(np.concatenate([[1.0], 1.0 + np.cumsum(rr_s)]) * FS).astype(np.int64)
    return peaks, np.array(labels if labels is not None else ["N"] * peaks.size)


def kinds(episodes):
    return [e.kind for e in episodes]


def test_a_regular_sinus_rhythm_has_no_episode():
    rng = np.random.default_rng(0)
    rr = 0.8 + 0.03 * np.sin(np.arange(600) / 8) + 0.005 * rng.standard_normal(600)
    peaks, labels = beats(rr)
    assert detect_episodes(peaks, labels, FS) == []


def test_frequent_ectopy_is_not_af_but_fools_the_baseline():
    # Sinus rhythm with a premature V beat every third beat (compensatory pause after it).
    peaks, labels = beats(*trigeminy_rr())
    assert af_episodes(peaks, labels, FS) == []
    assert kinds(af_baseline(peaks, FS)) == ["AF"]
    assert "trigeminy" in kinds(detect_episodes(peaks, labels, FS))


def test_runs_pauses_and_bigeminy():
    labels = (
        ["N"] * 20 + ["V"] * 5 + ["N"] * 20 + ["V", "N"] * 6 + ["N"] * 20 + ["!"] * 4 + ["N"] * 10
    )
    rr = np.full(len(labels) - 1, 0.8)
    rr[19:24] = 0.4  # the V run at 150 bpm
    rr[80] = 2.6  # a pause, in the normal stretch after the bigeminy
    peaks, labels = beats(rr, labels)
    found = kinds(detect_episodes(peaks, labels, FS))
    assert found.count("VT") == 1 and found.count("bigeminy") == 1
    assert found.count("pause") == 1 and found.count("VFL") == 1


def test_a_slow_ventricular_run_is_an_idioventricular_rhythm_not_a_vt(monkeypatch):
    """Three or more V beats at <= 100 bpm: IVR (as MIT-BIH's (IVR), not VT; faster: VT. A
    slow run long enough to be bradycardia is the IVR only: the run says more."""
    labels = ["N"] * 20 + ["V"] * 20 + ["N"] * 20 + ["V"] * 5 + ["N"] * 20
    rr = np.full(len(labels) - 1, 0.8)
    rr[19:39] = 1.5  # the first run at 40 bpm, 30 s long
    rr[59:64] = 0.4  # the second at 150 bpm
    peaks, labels = beats(rr, labels)
    found = detect_episodes(peaks, labels, FS)
    assert kinds(found) == ["IVR", "VT"]
    ivr = found[0]
    assert ivr.beats == 20 and ivr.start_s == pytest.approx(peaks[20] / FS, abs=0.01)
    assert ivr.label.startswith("Idioventricular rhythm")

    import ecg.features.episodes as rules

    monkeypatch.setattr(rules, "SLOW_VENTRICULAR_RUNS", False)
    assert kinds(detect_episodes(peaks, labels, FS)) == ["bradycardia", "VT"]


def test_two_slow_v_beats_make_no_run():
    labels = ["N"] * 20 + ["V"] * 2 + ["N"] * 20
    peaks, labels = beats(np.full(len(labels) - 1, 0.9), labels)
    assert detect_episodes(peaks, labels, FS) == []


def test_sustained_bradycardia_and_tachycardia():
    peaks, labels = beats(np.concatenate([np.full(40, 1.5), np.full(60, 0.8), np.full(60, 0.5)]))
    found = detect_episodes(peaks, labels, FS)
    assert kinds(found) == ["bradycardia", "tachycardia"]
    assert found[0].duration_s >= 10 and found[1].duration_s >= 10


def test_ec57_episode_and_duration_scores():
    reference = [(0.0, 100.0), (200.0, 210.0)]
    detected = [(10.0, 90.0), (300.0, 320.0)]
    score = episode_scores(reference, detected)
    assert score.episode_sensitivity == 0.5 and score.episode_positive_predictivity == 0.5
    assert score.duration_sensitivity == pytest.approx(80 / 110, abs=1e-4)
    assert score.duration_positive_predictivity == pytest.approx(80 / 100, abs=1e-4)
    assert episode_scores([], []).episode_sensitivity is None


def test_reference_rhythm_intervals_from_wfdb_rhythm_changes():
    samples = np.array([0, 360, 3600, 7200, 7300, 9000])
    symbols = ["+", "N", "+", "+", "N", "+"]
    notes = ["(N", "", "(AFIB", "(AFL", "", "(N\x00"]
    got = reference_rhythm_intervals(samples, symbols, notes, FS, 10800, ("(AFIB", "(AFL"))
    assert got == [(10.0, 25.0)]  # AFIB then AFL: one episode, until the return to (N


# -- states and unreadable stretches (what the app passes: issue 20, point 3) ------------------


def test_an_unreadable_stretch_without_beats_is_no_pause():
    # Sinus rhythm, then 12 s with no detected beat (a lead off: flat, unreadable), then sinus.
    rr = np.concatenate([np.full(30, 0.8), [12.0], np.full(30, 0.8)])
    peaks, labels = beats(rr)
    gap_start, gap_end = 1 + 30 * 0.8, 1 + 30 * 0.8 + 12.0
    assert kinds(detect_episodes(peaks, labels, FS)) == ["pause"]  # blind to the flat line
    flat = [(gap_start + 0.5, gap_end - 0.5)]
    assert detect_episodes(peaks, labels, FS, unreadable_s=flat) == []


def test_a_real_pause_in_readable_signal_stays_a_pause():
    rr = np.concatenate([np.full(30, 0.8), [2.6], np.full(30, 0.8)])
    peaks, labels = beats(rr)
    elsewhere = [(100.0, 110.0)]  # an unreadable stretch after the last beat
    found = detect_episodes(peaks, labels, FS, states=["classified"] * peaks.size,
                            unreadable_s=elsewhere)  # fmt: skip
    assert kinds(found) == ["pause"] and found[0].duration_s == pytest.approx(2.6, abs=0.01)


def test_a_gap_next_to_an_unreadable_beat_is_no_pause():
    rr = np.concatenate([np.full(30, 0.8), [3.0], np.full(30, 0.8)])
    peaks, labels = beats(rr)
    states = np.full(peaks.size, "classified", dtype=object)
    states[30] = "unreadable"  # the beat before the gap lies in an unreadable segment
    assert detect_episodes(peaks, labels, FS, states=states.tolist()) == []


def test_uncertain_or_unreadable_beats_never_make_a_run():
    labels = ["N"] * 20 + ["V"] * 5 + ["N"] * 20
    rr = np.full(len(labels) - 1, 0.8)
    rr[19:24] = 0.4
    peaks, labels = beats(rr, labels)
    assert kinds(detect_episodes(peaks, labels, FS)) == ["VT"]
    states = np.full(peaks.size, "classified", dtype=object)
    states[22] = "uncertain"  # V V ? V V: two runs of 2, no VT
    assert detect_episodes(peaks, labels, FS, states=states.tolist()) == []
    states[22] = "unreadable"
    assert detect_episodes(peaks, labels, FS, states=states.tolist()) == []
    states[:] = "uncertain"
    assert detect_episodes(peaks, labels, FS, states=states.tolist()) == []


def test_a_flutter_run_never_spans_into_noisy_signal():
    """Issue 18: a ``!`` run is made of readable beats only and ends where a segment fails
    the quality check, whether the noisy segment holds beats (unreadable) or none."""
    labels = ["N"] * 10 + ["!"] * 12 + ["N"] * 10
    rr = np.full(len(labels) - 1, 0.8)
    rr[9:21] = 0.25  # 240 per minute
    peaks, labels = beats(rr, labels)
    (whole,) = detect_episodes(peaks, labels, FS)
    assert whole.kind == "VFL" and whole.beats == 12
    states = np.full(peaks.size, "classified", dtype=object)
    states[14:] = "unreadable"  # the run runs into a noisy segment
    noisy_from = peaks[14] / FS - 0.1
    (run,) = detect_episodes(peaks, labels, FS, states=states.tolist(),
                             unreadable_s=[(noisy_from, noisy_from + 10.0)])  # fmt: skip
    assert run.kind == "VFL" and run.beats == 4 and run.end_s < noisy_from
    # Two readable pairs of flutter beats across a beatless unreadable stretch: no run.
    states[:] = "classified"
    gap = (peaks[11] / FS + 0.05, peaks[12] / FS - 0.05)
    short = [e for e in detect_episodes(peaks[[10, 11, 12, 13]], labels[[10, 11, 12, 13]], FS,
                                        unreadable_s=[gap])]  # fmt: skip
    assert short == []


def test_a_classless_beat_ends_a_bigeminy():
    labels = ["N"] * 10 + ["V", "N"] * 6 + ["N"] * 10
    peaks, labels = beats(np.full(len(labels) - 1, 0.8), labels)
    assert kinds(detect_episodes(peaks, labels, FS)) == ["bigeminy"]
    states = np.full(peaks.size, "classified", dtype=object)
    states[[13, 17]] = "uncertain"  # the N between two V pairs: V N V ? V N V ? V ...
    assert "bigeminy" not in kinds(detect_episodes(peaks, labels, FS, states=states.tolist()))


def test_irregular_detections_in_noise_are_not_af():
    # Noise: the detector fires irregularly for 200 beats between two sinus stretches.
    rng = np.random.default_rng(1)
    rr = np.concatenate([np.full(150, 0.8), rng.uniform(0.4, 1.0, 200), np.full(150, 0.8)])
    peaks, labels = beats(rr)
    assert kinds(detect_episodes(peaks, labels, FS)) == ["AF"]
    states = np.full(peaks.size, "classified", dtype=object)
    states[151:350] = "unreadable"
    noisy = [(peaks[151] / FS - 0.5, peaks[349] / FS + 0.5)]
    assert detect_episodes(peaks, labels, FS, states=states.tolist(), unreadable_s=noisy) == []


def test_sustained_rate_is_not_carried_across_an_unreadable_stretch():
    # 8 s of bradycardia, an unreadable stretch, 8 s more: neither side lasts RATE_MIN_S.
    rr = np.concatenate(
        [np.full(10, 0.8), np.full(6, 1.5), [1.5], np.full(6, 1.5), np.full(10, 0.8)]
    )
    peaks, labels = beats(rr)
    assert kinds(detect_episodes(peaks, labels, FS)) == ["bradycardia"]
    states = np.full(peaks.size, "classified", dtype=object)
    states[16] = "unreadable"
    assert detect_episodes(peaks, labels, FS, states=states.tolist()) == []


def test_usable_intervals_and_episode_rows():
    peaks = (np.array([0.0, 1.0, 2.0, 5.0, 6.0]) * FS).astype(np.int64)
    usable = usable_intervals(peaks, FS, unreadable_s=[(2.5, 3.0), (2.9, 4.0)])
    assert usable.tolist() == [True, True, False, True]
    states = ["classified", "uncertain", "unreadable", "classified", "classified"]
    usable = usable_intervals(peaks, FS, states=states)
    assert usable.tolist() == [True, False, False, True]
    row = detect_episodes(*beats(np.array([0.8, 2.5, 0.8])), FS)[0].as_dict()
    assert row == {"kind": "pause", "label": "Pause (RR > 2 s)", "start_s": 1.8,
                   "end_s": 4.3, "duration_s": 2.5, "beats": 2}  # fmt: skip
    with pytest.raises(ValueError, match="states"):
        detect_episodes(*beats(np.array([0.8, 0.8])), FS, states=["classified"])


def trigeminy_rr(n: int = 300):
    """Sinus rhythm with a premature beat every third beat and its compensatory pause."""
    rr, labels = [], ["N"]
    for i in range(n):
        early = i % 3 == 2
        rr.append(0.5 if early else (1.1 if i % 3 == 0 and i else 0.8))
        labels.append("V" if early else "N")
    return np.array(rr), labels


def test_a_repeating_ectopic_pattern_is_not_af_whatever_its_beats_classes():
    # The AF rule reads the rhythm: trigeminy repeats every three intervals, so it is no AF when
    # the premature beats are uncertain, or called N by a model, and only the baseline fires.
    peaks, labels = beats(*trigeminy_rr())
    states = np.where(labels == "V", "uncertain", "classified")
    found = detect_episodes(peaks, labels, FS, states=states.tolist())
    assert found == []  # no AF, and no trigeminy either: an uncertain V is no V
    assert af_episodes(peaks, np.full(peaks.size, "N"), FS) == []
    assert kinds(af_baseline(peaks, FS)) == ["AF"]


def test_isolated_premature_beats_in_sinus_rhythm_are_not_af():
    # A premature beat (unclassified: any class) about every 4th beat at random places.
    rng = np.random.default_rng(3)
    rr = list(0.8 + 0.01 * rng.standard_normal(400))
    for i in sorted(rng.choice(np.arange(5, 395, 4), 80, replace=False)):
        rr[i], rr[i + 1] = 0.5, 1.1
    rr = np.array(rr)
    assert isolated_premature(rr).sum() >= 60
    peaks, labels = beats(rr)
    assert af_episodes(peaks, labels, FS) == []


@pytest.mark.parametrize(("seed", "shortest_rr"), [(0, 0.3), (1, 0.3), (3, 0.4), (4, 0.4)])
def test_af_start_and_end_within_a_few_beats(seed, shortest_rr):
    # A window median moves once most of the window is AF (24-67 beats late here); the edges
    # are then moved out to where the rhythm turns irregular. Both refined edges must sit within
    # 8 beats of the truth; without the refinement they do not.
    rng = np.random.default_rng(seed)
    regular = 0.8 + 0.01 * rng.standard_normal(200)
    af = rng.uniform(shortest_rr, 1.1 if shortest_rr < 0.4 else 1.0, 300)
    peaks, labels = beats(np.concatenate([regular, af, regular]))
    times = peaks / FS

    def edges(**kwargs):
        (episode,) = af_episodes(peaks, labels, FS, **kwargs)
        first, last = np.searchsorted(times, [episode.start_s, episode.end_s])
        return abs(first - 200), abs(last - 500)  # AF from beat 200 to beat 500

    assert max(edges()) <= 8
    assert max(edges(refine_edges=False)) > 8


def test_uncertain_beats_count_for_af():
    # The model unsure of every beat in AF: the beat times still show AF.
    rng = np.random.default_rng(5)
    peaks, labels = beats(np.concatenate([np.full(150, 0.8), rng.uniform(0.4, 1.0, 250)]))
    states = ["uncertain"] * peaks.size
    assert kinds(detect_episodes(peaks, labels, FS, states=states)) == ["AF"]


def test_af_is_split_at_an_unreadable_stretch():
    rng = np.random.default_rng(6)
    peaks, labels = beats(rng.uniform(0.4, 1.0, 600))  # about 7 minutes of AF
    (whole,) = af_episodes(peaks, labels, FS)
    middle = peaks[300] / FS
    noisy = [(middle - 4.0, middle + 4.0)]  # 8 s unreadable: shorter than AF_MERGE_S
    found = [e for e in detect_episodes(peaks, labels, FS, unreadable_s=noisy) if e.kind == "AF"]
    assert len(found) == 2
    assert found[0].end_s <= noisy[0][0] and found[1].start_s >= noisy[0][1]
    assert found[0].start_s == whole.start_s and found[1].end_s == whole.end_s


def test_windowed_medians_a_block_at_a_time_equal_one_call(monkeypatch):
    from ecg.features import episodes

    rr = np.random.default_rng(3).uniform(0.4, 1.2, 5000)
    rr[::7] = np.nan
    one_call = episodes._median_if_enough(np.lib.stride_tricks.sliding_window_view(rr, 90))
    monkeypatch.setattr(episodes, "WINDOW_BLOCK", 333)
    blocks = episodes._windowed(rr, 90, episodes._median_if_enough)
    np.testing.assert_array_equal(blocks, one_call)


# -- the COSEn window rule (issue 20; chosen by benchmarks/af_cosen_ds1.py) --------------------


def test_sinus_arrhythmia_with_slow_breathing_swings_is_not_af():
    # RR swinging +-0.12 s over a 4.5 s breath: large changes, but smooth ones.
    rng = np.random.default_rng(7)
    t = np.arange(600) * 0.9
    rr = 0.9 + 0.12 * np.sin(2 * np.pi * t / 4.5) + 0.005 * rng.standard_normal(600)
    peaks, labels = beats(rr)
    assert af_episodes(peaks, labels, FS) == []
    assert "AF" not in kinds(detect_episodes(peaks, labels, FS))


def test_bigeminy_is_not_af_even_when_no_beat_is_called_v():
    rr = np.tile([0.55, 1.05], 300) + 0.005 * np.random.default_rng(8).standard_normal(600)
    peaks, _ = beats(rr)
    assert af_episodes(peaks, np.full(peaks.size, "N"), FS) == []
    assert af_episodes(peaks, None, FS) == []


def af_between_sinus(seed: int = 9):
    rng = np.random.default_rng(seed)
    regular = 0.8 + 0.01 * rng.standard_normal(200)
    return beats(np.concatenate([regular, rng.uniform(0.4, 1.1, 300), regular]))


def test_af_episodes_interface_and_scores_computed_once_give_the_same():
    from ecg.features import episodes

    peaks, labels = af_between_sinus()
    found = af_episodes(peaks, labels, FS)
    assert kinds(found) == ["AF"] and found[0].beats > 250
    assert found[0].label == "Atrial fibrillation / flutter"
    scores = episodes._af_scores(peaks, labels, FS, states=None, usable=None, cosen=True)
    assert episodes.af_episodes_from_scores(peaks, FS, scores) == found
    assert len(scores) == 4 and all(len(s) == peaks.size - 1 for s in scores)
    assert af_episodes(peaks[:50], labels[:50], FS) == []  # shorter than one window


def test_the_rule_needs_cosen_and_the_irregularity_when_both_are_set(monkeypatch):
    from ecg.features import episodes

    peaks, labels = af_between_sinus()
    monkeypatch.setattr(episodes, "AF_ON", 0.08)
    monkeypatch.setattr(episodes, "AF_OFF", 0.056)
    assert kinds(af_episodes(peaks, labels, FS)) == ["AF"]  # both above
    monkeypatch.setattr(episodes, "AF_COSEN_ON", 5.0)  # COSEn can never reach this
    assert af_episodes(peaks, labels, FS) == []
    monkeypatch.setattr(episodes, "AF_COSEN_ON", None)  # the former irregularity rule alone
    assert kinds(af_episodes(peaks, labels, FS)) == ["AF"]
    monkeypatch.setattr(episodes, "AF_ON", 5.0)
    assert af_episodes(peaks, labels, FS) == []


def test_shipped_af_rule_is_the_one_chosen_on_ds1():
    import json
    from pathlib import Path

    from ecg.features import episodes

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/af_cosen_ds1.json"
    result = json.loads(path.read_text())
    point = result["report"]["chosen_on_ds1" if result["replaces_shipped"] else "shipped"]
    for name in ("AF_ON", "AF_OFF", "AF_COSEN_ON", "AF_COSEN_OFF"):
        assert getattr(episodes, name) == point["point"][name], name


# -- an unscored window inside AF (issue 20; chosen by benchmarks/af_carry_ds1.py) -------------


def _af_with_a_v_burst(seed: int = 7):
    # 150 regular beats, 700 AF beats of which 110 in the middle are called V (their window
    # keeps under half its intervals, so it has no score), then 150 regular beats
    rng = np.random.default_rng(seed)
    rr = np.concatenate([np.full(150, 0.8), rng.uniform(0.4, 1.0, 700), np.full(150, 0.8)])
    peaks, labels = beats(rr)
    labels[450:560] = "V"
    return peaks, labels


def test_many_v_calls_inside_af_do_not_end_the_episode(monkeypatch):
    from ecg.features import episodes

    peaks, labels = _af_with_a_v_burst()
    carried = af_episodes(peaks, labels, FS)
    assert len(carried) == 1
    assert carried[0].start_s < peaks[200] / FS and carried[0].end_s > peaks[800] / FS
    monkeypatch.setattr(episodes, "AF_CARRY_UNSCORED", False)
    assert len(af_episodes(peaks, labels, FS)) == 2  # the V burst used to split it


def test_an_unscored_window_starts_no_af_and_an_unreadable_stretch_still_splits_it():
    peaks, labels = beats(np.full(600, 0.8))
    labels[200:330] = "V"  # a long V stretch in a regular rhythm: unscored, never AF
    assert af_episodes(peaks, labels, FS) == []
    peaks, labels = _af_with_a_v_burst()
    middle = peaks[505] / FS
    noisy = [(middle - 4.0, middle + 4.0)]
    found = [e for e in detect_episodes(peaks, labels, FS, unreadable_s=noisy) if e.kind == "AF"]
    assert len(found) == 2
    assert found[0].end_s <= noisy[0][0] and found[1].start_s >= noisy[0][1]


def test_shipped_carry_setting_is_the_one_chosen_on_ds1():
    import json
    from pathlib import Path

    from ecg.features import episodes

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/af_carry_ds1.json"
    assert episodes.AF_CARRY_UNSCORED is json.loads(path.read_text())["carry_replaces_shipped"]


def test_the_irregularity_rule_without_cosen_carries_nothing(monkeypatch):
    # Without COSEn every window's COSEn is NaN: carrying it would let an episode never end.
    from ecg.features import episodes

    monkeypatch.setattr(episodes, "AF_COSEN_ON", None)
    monkeypatch.setattr(episodes, "AF_ON", 0.08)
    monkeypatch.setattr(episodes, "AF_OFF", 0.056)
    rng = np.random.default_rng(8)
    rr = np.concatenate([np.full(150, 0.8), rng.uniform(0.4, 1.0, 300), np.full(400, 0.8)])
    peaks, labels = beats(rr)
    (episode,) = af_episodes(peaks, labels, FS)
    assert episode.end_s < peaks[520] / FS  # ends with the AF, not at the record's end


def test_a_recording_that_ends_or_starts_in_asystole_has_an_edge_pause():
    peaks, labels = beats(np.full(30, 0.8))  # beats from 1.0 s to 25.0 s
    ready = ["classified"] * peaks.size
    ending = detect_episodes(peaks, labels, FS, states=ready, duration_s=40.0)
    assert [(e.kind, e.start_s, e.end_s, e.beats) for e in ending] == [("pause", 25.0, 40.0, 1)]
    assert ending[0].label == "Pause (no beat for over 2 s at the recording's end)"
    late = peaks + int(5 * FS)  # the first beat at 6 s
    starting = detect_episodes(late, labels, FS, states=ready, duration_s=31.0)
    assert [(e.start_s, e.end_s) for e in starting] == [(0.0, 6.0)]
    assert "recording's start" in starting[0].label
    # without the recording's length (the benchmarks' reference scoring) no edge is known
    assert detect_episodes(peaks, labels, FS, states=ready) == []


def test_no_edge_pause_from_a_short_tail_an_unreadable_tail_or_an_unreadable_last_beat():
    peaks, labels = beats(np.full(30, 0.8))  # last beat at 25.0 s
    ready = ["classified"] * peaks.size
    assert detect_episodes(peaks, labels, FS, states=ready, duration_s=26.5) == []
    lead_off = [(30.0, 40.0)]
    assert detect_episodes(peaks, labels, FS, states=ready, unreadable_s=lead_off,
                           duration_s=40.0) == []  # fmt: skip
    noisy_last = ready[:-1] + ["unreadable"]
    assert detect_episodes(peaks, labels, FS, states=noisy_last, duration_s=40.0) == []


# -- ventricular flutter waves and AF (issue 20; chosen by benchmarks/af_flutter_edges_ds1.py) --


def _bigeminy_with_flutter_bursts(seed: int = 11):
    # 207's opening: ventricular bigeminy, then bursts of fast, irregular flutter waves (the
    # model calls them "!") between short stretches of it; no atrial fibrillation anywhere.
    rng = np.random.default_rng(seed)
    rr, labels = [], []
    for _ in range(4):
        rr += [0.55, 1.05] * 15
        labels += ["V", "N"] * 15
        burst = rng.uniform(0.22, 0.45, 40).tolist()
        rr += burst
        labels += ["!"] * 40
    peaks, _ = beats(np.array(rr))
    return peaks, np.array(labels + ["N"])


def test_flutter_waves_are_left_out_of_af_like_ventricular_beats(monkeypatch):
    from ecg.features import episodes

    peaks, labels = _bigeminy_with_flutter_bursts()
    assert af_episodes(peaks, labels, FS) == []
    monkeypatch.setattr(episodes, "AF_VENTRICULAR", ("V",))  # the rule before: flutter is AF
    assert kinds(af_episodes(peaks, labels, FS)) == ["AF"]


def test_intervals_next_to_a_flutter_wave_have_no_lag_difference():
    from ecg.features.episodes import _af_scores

    rng = np.random.default_rng(3)
    peaks, labels = beats(rng.uniform(0.5, 1.0, 200))
    labels[100] = "!"
    _, diffs, _, _ = _af_scores(peaks, labels, FS, states=None, usable=None)
    assert np.isnan(diffs[99]) and np.isnan(diffs[100])  # into and out of the "!" beat
    states = np.array(["classified"] * labels.size)
    states[100] = "uncertain"  # an isolated "!" is uncertain, and then keeps its intervals
    _, diffs, _, _ = _af_scores(peaks, labels, FS, states=states, usable=None)
    assert not np.isnan(diffs[99]) and not np.isnan(diffs[100])


def test_edges_can_be_stopped_at_windows_with_a_p_wave():
    from ecg.features.episodes import _refined

    diffs = np.full(400, 0.01)
    diffs[120:360] = 0.2  # irregular from interval 120 to 359; the window rule found 200-300
    ok = np.ones(400, dtype=bool)
    stops = np.zeros(400, dtype=bool)
    stops[150] = stops[330] = True  # windows with a P wave on either side of the run
    free = _refined([(200, 300)], diffs, ok)
    stopped = _refined([(200, 300)], diffs, ok, stops)
    assert free == [(120, 360)]  # out to where the rhythm turns irregular / regular
    ((start, end),) = stopped
    assert 151 <= start <= 200 and 300 <= end <= 330  # never over the windows with a P wave


def test_shipped_flutter_and_edge_settings_are_the_ones_chosen_on_ds1():
    import json
    from pathlib import Path

    from ecg.features import episodes

    path = Path(__file__).resolve().parents[2] / "benchmarks/results/af_flutter_edges_ds1.json"
    result = json.loads(path.read_text())
    chosen = next(r for r in result["results"] if r["name"] == result["chosen"])
    assert episodes.AF_VENTRICULAR == tuple(chosen["AF_VENTRICULAR"])
    assert episodes.AF_EDGE_STOPS_AT_P_WAVE is chosen["AF_EDGE_STOPS_AT_P_WAVE"]

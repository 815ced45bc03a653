"""The flutter confirmation (ecg.dsp.flutter, issue 18 point 4): VF detectors tell a
near-sinusoidal flutter wave from broadband noise and from normal beats."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.dsp.flutter import (
    FlutterThresholds,
    confirm_runs,
    run_windows,
    spectral_concentration,
    vf_leakage,
    window_figures,
)
from ecg.training.noise_stress import electrode_motion, muscle_noise, noise_mix

FS = 360.0
N = int(4 * FS)
T = np.arange(N) / FS


def flutter(rate_hz: float = 4.5, seed: int = 0) -> np.ndarray:
    """A flutter-like wave: a sinusoid whose amplitude and rate wander a little, plus noise."""
    rng = np.random.default_rng(seed)
    phase = 2 * np.pi * np.cumsum(rate_hz * (1 + 0.05 * np.sin(2 * np.pi * 0.3 * T))) / FS
    return (1 + 0.1 * np.sin(2 * np.pi * 0.5 * T)) * np.sin(phase) + 0.05 * rng.normal(size=N)


def normal_beats(rr_s: float = 0.8) -> np.ndarray:
    """Spiky QRS complexes with small T waves on a quiet baseline."""
    x = np.zeros(N)
    for centre in np.arange(0.3, 4.0, rr_s):
        x += np.exp(-(((T - centre) / 0.012) ** 2)) - 0.2 * np.exp(
            -(((T - centre - 0.03) / 0.01) ** 2)
        )
        x += 0.25 * np.exp(-(((T - centre - 0.3) / 0.06) ** 2))
    return x


def noises() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "white": rng.normal(size=N),
        "muscle": muscle_noise(N, FS, rng),
        "electrode_motion": electrode_motion(N, FS, rng),
        "stress_mix": noise_mix(N, FS, rng),
    }


def test_a_sinusoid_has_almost_no_leakage_and_all_its_spectrum_at_its_frequency():
    x = np.sin(2 * np.pi * 5.0 * T)[None, :]
    assert vf_leakage(x)[0] < 0.1
    concentration, dominant = spectral_concentration(x, FS)
    assert dominant[0] == pytest.approx(5.0, abs=0.25)
    assert concentration[0] > 0.9


@pytest.mark.parametrize("rate_hz", [3.5, 4.5, 6.0])
def test_flutter_passes_and_noise_and_normal_beats_do_not(rate_hz):
    t = FlutterThresholds()
    rows = {"flutter": flutter(rate_hz), "beats": normal_beats(), **noises()}
    figures = window_figures(np.stack(list(rows.values())), FS)
    passes = (figures.leakage <= t.leakage_max) & (figures.concentration >= t.concentration_min)
    verdict = dict(zip(rows, passes.tolist(), strict=True))
    assert verdict == {name: name == "flutter" for name in rows}, (
        figures.leakage.round(2).tolist(),
        figures.concentration.round(2).tolist(),
    )
    assert figures.dominant_hz[0] == pytest.approx(rate_hz, abs=0.5)


def test_normal_beats_and_noise_leak_far_more_than_flutter():
    figures = window_figures(np.stack([flutter(), normal_beats(), *noises().values()]), FS)
    assert (figures.leakage[1:] > 2 * figures.leakage[0]).all()
    assert (figures.concentration[1:] < figures.concentration[0] - 0.3).all()


def test_a_flat_window_is_never_flutter():
    flat = np.zeros((1, N))
    assert np.isnan(vf_leakage(flat)[0])
    assert confirm_runs(np.zeros(10 * int(FS)), FS, [(int(2 * FS), int(4 * FS))]).tolist() == [
        False
    ]


def test_runs_are_checked_on_their_own_stretch_of_the_lead():
    # 20 s: normal beats, 8 s of flutter, normal beats again; one run in each part.
    lead = np.concatenate([np.tile(normal_beats(), 2)[: int(6 * FS)], np.tile(flutter(), 2),
                           np.tile(normal_beats(), 2)[: int(6 * FS)]])  # fmt: skip
    spans = [(int(1 * FS), int(3 * FS)), (int(7 * FS), int(13 * FS)), (int(15 * FS), int(19 * FS))]
    assert confirm_runs(lead, FS, spans).tolist() == [False, True, False]
    # A short run gets one window centred on it; a long one several, all inside the lead.
    assert run_windows(int(7 * FS), int(8 * FS), lead.size, FS).size == 1
    firsts = run_windows(0, lead.size - 1, lead.size, FS)
    assert firsts.size == 5 and firsts[0] == 0 and firsts[-1] + N == lead.size
    assert confirm_runs(lead, FS, []).tolist() == []


def test_a_lead_too_short_to_resolve_the_flutter_band_is_never_flutter():
    short = flutter()[: int(0.08 * FS)]  # its spectrum has a line every 12 Hz
    concentration, dominant = spectral_concentration(short[None, :], FS)
    assert np.isnan(concentration[0]) and np.isnan(dominant[0])
    assert confirm_runs(short, FS, [(5, 25)]).tolist() == [False]


def test_the_shipped_thresholds_are_the_ones_chosen_on_ds1():
    import json
    from dataclasses import asdict
    from pathlib import Path

    results = Path(__file__).resolve().parents[2] / "benchmarks/results/flutter_confirm_ds1.json"
    choice = json.loads(results.read_text())["choice"]
    assert choice["chosen"]["thresholds"] == asdict(FlutterThresholds())
    assert choice["chosen_207_kept_share"] >= 0.95

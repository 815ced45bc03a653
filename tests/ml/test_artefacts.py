"""Recording artefacts for training beats (``ecg.training.artefacts``, issues 17 and 18)."""

import numpy as np
import pytest

from ecg.training.artefacts import (
    GENERATORS,
    ArtefactParams,
    add_artefacts,
    artefacts,
    qrs_power,
)

FS = 360.0
R_INDEX = 90  # 0.25 s into a 0.7-s window


def beats(n: int, amplitude: float = 1.5) -> np.ndarray:
    t = np.arange(252) / FS
    r_wave = amplitude * np.exp(-(((t - 0.25) / 0.01) ** 2))
    t_wave = 0.3 * np.exp(-(((t - 0.55) / 0.04) ** 2))
    return np.repeat((r_wave + t_wave).astype(np.float32)[None, :], n, axis=0)


def test_no_share_leaves_the_beats_as_they_are():
    windows = beats(40)
    out = add_artefacts(windows, FS, R_INDEX, np.random.default_rng(0), ArtefactParams(0.0))
    np.testing.assert_array_equal(out, windows)


def test_the_share_of_beats_given_an_artefact_and_the_seed():
    windows = beats(2000)
    params = ArtefactParams(share=0.3, snr_db=(6.0, 30.0))
    a = add_artefacts(windows, FS, R_INDEX, np.random.default_rng(5), params)
    b = add_artefacts(windows, FS, R_INDEX, np.random.default_rng(5), params)
    np.testing.assert_array_equal(a, b)
    changed = np.abs(a - windows).max(axis=1) > 0
    assert 0.26 < changed.mean() < 0.34
    assert a.dtype == np.float32 and a.shape == windows.shape


@pytest.mark.parametrize("snr_db", [6.0, 18.0, 30.0])
def test_each_artefact_has_the_drawn_snr_against_the_beats_qrs(snr_db):
    """The NST's terms: (QRS peak to peak)^2 / 8 over the artefact's mean square."""
    windows = beats(300, amplitude=2.0)
    params = ArtefactParams(share=1.0, snr_db=(snr_db, snr_db))
    out = add_artefacts(windows, FS, R_INDEX, np.random.default_rng(1), params)
    noise = (out - windows).astype(np.float64)
    measured = 10 * np.log10(qrs_power(windows, FS, R_INDEX) / np.mean(noise**2, axis=1))
    np.testing.assert_allclose(measured, snr_db, atol=0.05)
    # a bigger beat gets a bigger artefact at the same SNR: the ratio, not a fixed millivolt size
    small = add_artefacts(beats(300, 0.5), FS, R_INDEX, np.random.default_rng(1), params)
    small_noise = np.sqrt(np.mean((small - beats(300, 0.5)) ** 2))
    assert np.sqrt(np.mean(noise**2)) == pytest.approx(4 * small_noise, rel=1e-3)


def test_artefacts_are_what_the_apps_band_pass_lets_through():
    """Filtered as a recording is (0.5-40 Hz) before the beat is cut: little above 45 Hz, and
    no offset (the filter removes it)."""
    noise = artefacts(600, 252, FS, np.random.default_rng(2))
    spectrum = np.abs(np.fft.rfft(noise, axis=1)) ** 2
    freqs = np.fft.rfftfreq(252, 1 / FS)
    assert spectrum[:, freqs > 45].sum() < 0.1 * spectrum.sum()
    np.testing.assert_allclose(noise.mean(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.mean(noise**2, axis=1), 1.0, rtol=1e-3)


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_every_kind_is_finite_and_not_flat(kind):
    out = GENERATORS[kind](50, 972, FS, np.random.default_rng(3))
    assert out.shape == (50, 972) and np.isfinite(out).all()
    assert (out.std(axis=1) > 0).all()


def test_the_kinds_differ_where_they_should():
    """Drift is slow, muscle noise fast, electrode motion in the QRS band: the share of each
    one's power under 2 Hz orders them."""
    freqs = np.fft.rfftfreq(3600, 1 / FS)

    def low_share(kind: str) -> float:
        x = GENERATORS[kind](40, 3600, FS, np.random.default_rng(4))
        x = x - x.mean(axis=1, keepdims=True)
        power = np.abs(np.fft.rfft(x, axis=1)) ** 2
        return float(power[:, freqs < 2].sum() / power.sum())

    drift, muscle = low_share("drift"), low_share("muscle")
    assert drift > 0.9 and muscle < 0.05


def test_training_epochs_carry_the_artefacts(tmp_path):
    """``ModelConfig.artefact_share``: the same beats, drawn with artefacts, reach the network
    as different spectrograms; with no share they are the augmentation's alone."""
    from ecg.training.training import ModelConfig, _EpochData

    from .conftest import tiny_inter_patient_table

    table, labels, split = tiny_inter_patient_table(tmp_path)

    def images(share: float) -> np.ndarray:
        config = ModelConfig("t", "spectrogram", noise_mv=0.0, artefact_share=share, seed=3)
        return _EpochData.make(config, table, split.train, labels, 6).inputs["image"]

    plain, again, noisy = images(0.0), images(0.0), images(1.0)
    np.testing.assert_array_equal(plain, again)
    differs = np.abs(noisy.astype(int) - plain.astype(int)).reshape(len(plain), -1).max(axis=1)
    assert (differs > 0).mean() > 0.9

"""Recording artefacts added to training beats (issue 17, point 5: "train with realistic
baseline wander, muscle and electrode-motion artefacts"; issue 18: noisy beats answered wrongly).

``augment.augment_windows`` only changes gain, adds a slow sinusoidal drift and (for beat
images) white noise; the recording model learnt from clean beats. Here a share of each epoch's
beats gets one of three artefacts at a signal-to-noise ratio drawn per beat:

- **drift**: a slow curve across the window (a random walk integrated twice, so its slope
  changes smoothly) with a respiration-like sinusoid of 0.1-0.7 Hz;
- **muscle**: coloured Gaussian noise, white noise through a random one-pole low-pass
  (corner 30-150 Hz) after a first difference (EMG has little power under ~20 Hz), with a
  per-window random gain ramp;
- **motion**: one to three electrode-motion transients (first derivatives of Gaussians, 20-100
  ms wide: QRS-like in band) anywhere in the window, and with probability one half a step
  with an exponential recovery of 0.1-0.8 s.

They are generated here, per window, on purpose not with ``noise_stress``'s generator (three
fixed filters on long records): the noise stress test scores the model on that generator's
noise, and a model trained on the same code would be tested on the noise it learnt.

Each artefact is drawn longer than the window, band-passed with the app's own filter
(``ecg.dsp.signal.bandpass``, what a noisy recording goes through before its beats are cut:
the filter is linear, so filtering the noise alone and adding it equals filtering the noisy
signal) and cropped to the window. Its power is set against the beat's own in the NST's
terms: the signal's power is the squared QRS peak-to-peak amplitude (within 50 ms of the R
peak) over 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal as sps

from ecg.dsp.signal import bandpass

KINDS = ("drift", "muscle", "motion")
QRS_HALF_S = 0.05  # the NST's QRS amplitude: peak to peak within 50 ms of the R peak
MARGIN_S = 1.0  # drawn this much longer on each side, so the filter's edges fall outside


@dataclass(frozen=True)
class ArtefactParams:
    """Which share of the beats gets an artefact and at what signal-to-noise ratio (dB)."""

    share: float = 0.5
    snr_db: tuple[float, float] = (6.0, 30.0)


def _drift(n: int, length: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    walk = np.cumsum(np.cumsum(rng.standard_normal((n, length)), axis=1), axis=1)
    walk -= walk.mean(axis=1, keepdims=True)
    t = np.arange(length)[None, :] / fs
    freq = rng.uniform(0.1, 0.7, size=(n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    breath = np.sin(2 * np.pi * freq * t + phase)
    walk /= walk.std(axis=1, keepdims=True) + 1e-12
    return walk + rng.uniform(0.0, 1.5, size=(n, 1)) * breath


def _muscle(n: int, length: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    white = np.diff(rng.standard_normal((n, length + 1)), axis=1)
    out = np.empty((n, length))
    corners = rng.uniform(30.0, min(150.0, 0.45 * fs), size=n)
    for i, corner in enumerate(corners):  # one-pole low-pass: y[k] = a y[k-1] + (1 - a) x[k]
        a = float(np.exp(-2 * np.pi * corner / fs))
        out[i] = sps.lfilter([1.0 - a], [1.0, -a], white[i])
    ramp = np.linspace(0.0, 1.0, length)[None, :]
    start, end = rng.uniform(0.3, 1.0, size=(2, n, 1))
    return out * (start + (end - start) * ramp)


def _motion(n: int, length: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(length)[None, :].astype(np.float64)
    out = np.zeros((n, length))
    counts = rng.integers(1, 4, size=n)
    for k in range(int(counts.max())):
        on = (counts > k)[:, None]
        centre = rng.uniform(0, length, size=(n, 1))
        width = rng.uniform(0.02, 0.1, size=(n, 1)) * fs
        sign = rng.choice([-1.0, 1.0], size=(n, 1)) * rng.uniform(0.5, 1.0, size=(n, 1))
        u = (t - centre) / width
        out += on * sign * (-u * np.exp(-0.5 * u**2))
    stepped = rng.random((n, 1)) < 0.5
    at = rng.uniform(0, length, size=(n, 1))
    tau = rng.uniform(0.1, 0.8, size=(n, 1)) * fs
    after = t >= at
    step = np.where(after, np.exp(-(t - at) / tau), 0.0) * rng.normal(0.0, 1.0, size=(n, 1))
    return out + stepped * step


GENERATORS = {"drift": _drift, "muscle": _muscle, "motion": _motion}


def artefacts(n: int, samples: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` artefacts of ``samples`` each, every one of a random kind, band-passed as the app
    filters a recording and scaled to unit mean square over the window."""
    margin = int(round(MARGIN_S * fs))
    length = samples + 2 * margin
    kinds = rng.integers(0, len(KINDS), size=n)
    out = np.zeros((n, length))
    for k, name in enumerate(KINDS):
        rows = np.flatnonzero(kinds == k)
        if rows.size:
            out[rows] = GENERATORS[name](rows.size, length, fs, rng)
    out = np.asarray(bandpass(out, fs), np.float64)[:, margin : margin + samples]
    out -= out.mean(axis=1, keepdims=True)
    return out / np.sqrt(np.mean(out**2, axis=1, keepdims=True) + 1e-12)


def qrs_power(windows: np.ndarray, fs: float, r_index: int) -> np.ndarray:
    """Each window's signal power in the NST's terms: (QRS peak to peak)^2 / 8."""
    half = int(round(QRS_HALF_S * fs))
    lo, hi = max(0, r_index - half), min(windows.shape[1], r_index + half + 1)
    return np.ptp(windows[:, lo:hi], axis=1) ** 2 / 8.0


def add_artefacts(
    windows: np.ndarray,
    fs: float,
    r_index: int,
    rng: np.random.Generator,
    params: ArtefactParams | None = None,
) -> np.ndarray:
    """``windows`` (n, samples, in mV, band-passed) with an artefact added to a ``params.share``
    of them at an SNR drawn uniformly from ``params.snr_db``; the rest unchanged."""
    params = params or ArtefactParams()
    windows = np.asarray(windows, dtype=np.float32)
    picked = np.flatnonzero(rng.random(len(windows)) < params.share)
    if not picked.size:
        return windows
    noise = artefacts(picked.size, windows.shape[1], fs, rng)
    snr = rng.uniform(*params.snr_db, size=picked.size)
    power = qrs_power(windows[picked], fs, r_index)
    scale = np.sqrt(power / 10.0 ** (snr / 10.0))
    out = windows.copy()
    out[picked] += (noise * scale[:, None]).astype(np.float32)
    return out

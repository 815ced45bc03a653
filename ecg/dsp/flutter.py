"""Ventricular flutter / fibrillation confirmation on the signal of a candidate ``!`` run.

The classifier calls a beat ``!`` from its own window; noise that the quality index lets through
(electrode motion and muscle artefact at 160-300 "beats" per minute) looks like that too, and a
heart-rate rule cannot tell them apart. The field's classic VF detectors can: flutter is a
near-sinusoid at 3-7 Hz, noise is broadband and a normal ECG is spiky. Two of them, computed on
fixed windows tiled over the run's stretch of the lead (vectorised over windows):

* **VF filter leakage** (Kuo & Dillman 1978; as in Amann, Tratnig & Unterkofler 2005): the
  mean half period ``N = round(pi * sum|x| / sum|dx|)`` (exact for a sinusoid) and the leakage
  of a notch (delay-and-add) filter tuned to it, ``sum|x_i + x_(i-N)| / sum(|x_i| +
  |x_(i-N)|)``. A sinusoid at the mean frequency is cancelled (leakage near 0); broadband noise
  and spiky beats leak;
* **spectral concentration** (after Barro et al. 1989, "SPEC"): the share of the 0.5 Hz-20F
  amplitude spectrum that lies within 0.7F-1.4F of the dominant frequency F (searched in
  ``DOMINANT_HZ``); amplitudes under 5 % of the peak are ignored, as in SPEC.

A run is confirmed when the median over its windows passes both thresholds
(``FlutterThresholds``, chosen on DS1 only: ``benchmarks/flutter_confirm_ds1.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg.dsp.signal import bandpass

WINDOW_S = 4.0  # Kuo & Dillman's and most VF detectors' analysis window
BAND_HZ = (1.0, 30.0)  # the detectors' customary pre-filter: drift and mains/muscle out
DOMINANT_HZ = (2.0, 10.0)  # where flutter's dominant frequency is searched
SPEC_FLOOR = 0.05  # SPEC ignores spectral amplitudes under 5 % of the peak


@dataclass(frozen=True)
class FlutterThresholds:
    """A run is flutter when its median leakage is at most ``leakage_max`` and its median
    spectral concentration at least ``concentration_min``. Chosen on DS1 by the rule written in
    ``benchmarks/flutter_confirm_ds1.py`` (no false run kept at clean / 6 / 0 / -6 dB, 97.6 %
    of record 207's reported flutter beats kept; docs/calibration.md)."""

    leakage_max: float = 0.75
    concentration_min: float = 0.45


@dataclass(frozen=True)
class FlutterFigures:
    """Per window: VF-filter leakage, spectral concentration and dominant frequency (Hz)."""

    leakage: np.ndarray
    concentration: np.ndarray
    dominant_hz: np.ndarray


def vf_leakage(windows: np.ndarray) -> np.ndarray:
    """Kuo & Dillman's VF-filter leakage of each row of ``windows`` (band-passed signal).

    0 for a pure sinusoid, near 1 or above for spiky or broadband signals; NaN for a flat row."""
    x = np.asarray(windows, dtype=np.float64)
    n = x.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        # For A sin(wt): sum|x| ~ 2A/pi per sample, sum|dx| ~ 2Aw/pi: their ratio is 1/w, so
        # this is half the period, and x_i + x_(i - N) cancels the sinusoid.
        period = np.pi * np.abs(x).sum(axis=1) / np.abs(np.diff(x, axis=1)).sum(axis=1)
    half = np.clip(np.nan_to_num(np.round(period), nan=1.0), 1, n - 1).astype(np.int64)
    out = np.full(x.shape[0], np.nan)
    for shift in np.unique(half):  # a handful of distinct periods: one pass each
        rows = np.flatnonzero(half == shift)
        a, b = x[rows, shift:], x[rows, :-shift]
        total = (np.abs(a) + np.abs(b)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = np.abs(a + b).sum(axis=1) / total
    return np.where(np.isfinite(period), out, np.nan)


def spectral_concentration(windows: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """SPEC-like concentration of each row and its dominant frequency: the share of the
    amplitude spectrum between 0.5 Hz and 20 F that lies within 0.7 F-1.4 F."""
    x = np.asarray(windows, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    amplitude = np.abs(np.fft.rfft(x * np.hamming(x.shape[1])[None, :], axis=1))
    freqs = np.fft.rfftfreq(x.shape[1], d=1.0 / fs)
    search = (freqs >= DOMINANT_HZ[0]) & (freqs <= DOMINANT_HZ[1])
    if not search.any():  # a window too short to resolve 2-10 Hz: no verdict (never flutter)
        return np.full(len(x), np.nan), np.full(len(x), np.nan)
    dominant = freqs[search][amplitude[:, search].argmax(axis=1)]
    peak = amplitude[:, (freqs >= 0.5)].max(axis=1, keepdims=True)
    amplitude = np.where(amplitude >= SPEC_FLOOR * peak, amplitude, 0.0)
    f = freqs[None, :]
    d = dominant[:, None]
    total = (amplitude * ((f >= 0.5) & (f <= 20.0 * d))).sum(axis=1)
    near = (amplitude * ((f >= 0.7 * d) & (f <= 1.4 * d))).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return near / total, dominant


def window_figures(x: np.ndarray, fs: float) -> FlutterFigures:
    """The detectors' figures on each row of ``x`` (raw signal windows of equal length)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    filtered = bandpass(x, fs, BAND_HZ).astype(np.float64) if len(x) else x
    concentration, dominant = spectral_concentration(filtered, fs)
    return FlutterFigures(vf_leakage(filtered), concentration, dominant)


def run_windows(start: int, end: int, n_samples: int, fs: float) -> np.ndarray:
    """First samples of the ``WINDOW_S`` windows tiled over samples ``start``-``end`` (both
    included; a run shorter than a window gets one window centred on it; windows stay inside
    the lead)."""
    width = min(int(round(WINDOW_S * fs)), n_samples)
    span = end + 1 - start
    if span <= width:
        firsts = np.array([(start + end) // 2 - width // 2])
    else:
        count = int(np.ceil(span / width))
        firsts = np.linspace(start, end + 1 - width, count).round().astype(np.int64)
    return np.clip(firsts, 0, n_samples - width).astype(np.int64)


def run_figures(
    signal: np.ndarray, fs: float, spans: list[tuple[int, int]]
) -> list[dict[str, float]]:
    """Median leakage, concentration and dominant frequency over each span's windows
    (``spans``: first and last sample of each candidate run)."""
    signal = np.asarray(signal, dtype=np.float64)
    width = min(int(round(WINDOW_S * fs)), signal.size)
    starts = [run_windows(a, b, signal.size, fs) for a, b in spans]
    if not starts:
        return []
    firsts = np.concatenate(starts)
    figures = window_figures(signal[firsts[:, None] + np.arange(width)[None, :]], fs)
    owner = np.repeat(np.arange(len(spans)), [len(s) for s in starts])
    out = []
    for i in range(len(spans)):
        mine = owner == i
        out.append(
            {
                "leakage": float(np.nanmedian(figures.leakage[mine]))
                if np.isfinite(figures.leakage[mine]).any()
                else float("nan"),
                "concentration": float(np.nanmedian(figures.concentration[mine]))
                if np.isfinite(figures.concentration[mine]).any()
                else float("nan"),
                "dominant_hz": float(np.median(figures.dominant_hz[mine])),
            }
        )
    return out


def is_flutter(figures: dict[str, float], thresholds: FlutterThresholds) -> bool:
    """Whether a run's figures say flutter (a NaN figure, e.g. a flat lead, says no)."""
    return bool(
        figures["leakage"] <= thresholds.leakage_max
        and figures["concentration"] >= thresholds.concentration_min
    )


def confirm_runs(
    signal: np.ndarray,
    fs: float,
    spans: list[tuple[int, int]],
    thresholds: FlutterThresholds = FlutterThresholds(),
) -> np.ndarray:
    """For each candidate run (first, last sample), whether its signal is flutter-like."""
    figures = run_figures(signal, fs, spans)
    return np.array([is_flutter(f, thresholds) for f in figures], dtype=bool)

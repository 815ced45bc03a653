"""A noise stress test built from data we have: realistic ECG noise added to clean records.

The MIT-BIH Noise Stress Test Database (Moody, Muldrow & Mark 1984) adds recorded baseline
wander, muscle (EMG) artefact and electrode motion to clean records, in alternating 2-minute
segments after a 5-minute clean start, at a given signal-to-noise ratio. Its noise recordings
are not in our data, so the three kinds are synthesised with their published character:

- **baseline wander**: respiration-like drift, a few sinusoids of 0.05-0.5 Hz plus a slow
  random walk;
- **muscle artefact**: broadband Gaussian noise shaped to 5-100 Hz with a slowly varying
  envelope (bursts of contraction);
- **electrode motion**: the hardest kind, because it overlaps the QRS band: random 0.5-10 Hz
  transients and occasional steps with a fast rise and slow recovery.

SNR follows the NST: the signal's power is the squared median QRS peak-to-peak amplitude over
8 (that of a sinusoid of that amplitude), the noise's power its mean square in the noisy
segments, and the noise is scaled so that 10 log10(S/N) is the requested SNR.

Pure NumPy / SciPy: the benchmark (``benchmarks/noise_stress.py``) and the tests use it.
"""

from __future__ import annotations

import numpy as np
import scipy.signal as sps

NOISE_KINDS = ("baseline_wander", "muscle", "electrode_motion")
CLEAN_START_S = 300.0  # the NST's first five minutes are clean
SEGMENT_S = 120.0  # then noise on and off every two minutes
# The shortest excerpt holding one whole noisy segment: anything shorter has no noisy beats (or
# a few seconds of them) to score, so the benchmark refuses it rather than report nothing.
MIN_EXCERPT_S = CLEAN_START_S + SEGMENT_S


def _band(x: np.ndarray, fs: float, low: float, high: float) -> np.ndarray:
    high = min(high, 0.45 * fs)
    sos = sps.butter(2, [low, high], btype="band", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x)


def baseline_wander(n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Respiration-like drift: three sinusoids of 0.05-0.5 Hz and a slow random walk."""
    t = np.arange(n) / fs
    x = np.zeros(n)
    for _ in range(3):
        x += rng.uniform(0.3, 1.0) * np.sin(
            2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3)
        )
    walk = np.cumsum(rng.standard_normal(n)) / np.sqrt(fs)
    sos = sps.butter(2, 0.3, btype="low", fs=fs, output="sos")
    return x + sps.sosfiltfilt(sos, walk - walk.mean())


def muscle_noise(n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """EMG-like: Gaussian noise in 5-100 Hz, amplitude modulated by slow bursts."""
    noise = _band(rng.standard_normal(n), fs, 5.0, 100.0)
    envelope = np.abs(_band(rng.standard_normal(n), fs, 0.05, 1.0))
    return noise * (0.3 + envelope / (envelope.std() + 1e-12))


def electrode_motion(n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Electrode-motion-like: 0.5-10 Hz transients (QRS-like in band) and occasional steps
    that recover over about a second."""
    transients = _band(rng.standard_normal(n), fs, 0.5, 10.0)
    steps = np.zeros(n)
    n_steps = max(1, int(n / fs / 8))  # one every ~8 s
    for start in rng.integers(0, n, n_steps):
        length = n - start
        decay = np.exp(-np.arange(length) / (rng.uniform(0.3, 1.5) * fs))
        steps[start:] += rng.normal(0, 3.0) * transients.std() * decay
    return transients + steps


def noise_mix(n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """The three kinds at equal power (each unit mean square before mixing)."""
    parts = [baseline_wander(n, fs, rng), muscle_noise(n, fs, rng), electrode_motion(n, fs, rng)]
    return sum(p / np.sqrt(np.mean(p**2) + 1e-12) for p in parts) / np.sqrt(len(parts))


def noisy_mask(n: int, fs: float, *, clean_start_s: float = CLEAN_START_S,
               segment_s: float = SEGMENT_S) -> np.ndarray:  # fmt: skip
    """True in the noisy segments: after ``clean_start_s``, ``segment_s`` on, ``segment_s`` off."""
    t = np.arange(n) / fs
    after = t - clean_start_s
    return (after >= 0) & (np.floor(after / segment_s) % 2 == 0)


def excerpt_problem(minutes: float) -> str | None:
    """Why an excerpt of ``minutes`` cannot be scored (it holds no whole noisy segment: shorter
    than ``MIN_EXCERPT_S``), or None when it can."""
    if minutes * 60.0 >= MIN_EXCERPT_S:  # NaN fails this too
        return None
    return (
        f"{minutes:g} minutes is too short: the NST pattern is {CLEAN_START_S / 60:g} clean "
        f"minutes first, so an excerpt needs at least {MIN_EXCERPT_S / 60:g} minutes to hold "
        f"one {SEGMENT_S / 60:g}-minute noisy segment"
    )


def qrs_signal_power(signal: np.ndarray, fs: float, r_peaks: np.ndarray) -> float:
    """The NST's signal power: (median QRS peak-to-peak amplitude)^2 / 8."""
    half = int(round(0.05 * fs))
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    r_peaks = r_peaks[(r_peaks > half) & (r_peaks < signal.size - half)]
    if r_peaks.size == 0:
        raise ValueError("no beat to measure the QRS amplitude on")
    idx = r_peaks[:, None] + np.arange(-half, half + 1)[None, :]
    ptp = np.ptp(signal[idx], axis=1)
    return float(np.median(ptp) ** 2 / 8.0)


def add_noise(
    signal: np.ndarray,
    fs: float,
    *,
    r_peaks: np.ndarray,
    snr_db: float,
    noise: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """``signal`` with ``noise`` added where ``mask`` is true, scaled to ``snr_db`` (NST)."""
    power = qrs_signal_power(signal, fs, r_peaks)
    on = noise[mask]
    noise_power = float(np.mean((on - on.mean()) ** 2)) if on.size else 1.0
    scale = np.sqrt(power / (noise_power * 10 ** (snr_db / 10.0)))
    return (signal + np.where(mask, noise * scale, 0.0)).astype(signal.dtype)

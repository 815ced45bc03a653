"""XQRS (``wfdb.processing.XQRS``) with its learning phase vectorised: same detections.

XQRS starts each run by learning its thresholds from the first eight beats it can recognise,
scoring one local peak of the filtered lead at a time (about 370 Python calls per two-minute
chunk, 15 % of detection). ``fast_xqrs`` scores all of them in one step and keeps wfdb's own
decisions; ``tests/recordings/test_detection.py`` checks detections and learned parameters
against wfdb's XQRS to the bit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# A vectorised score this close to XQRS's 0.6 threshold is recomputed the way wfdb does it, so
# every decision is wfdb's own (the two differ by rounding only, ~1e-16).
XCORR_THRESHOLD = 0.6
XCORR_EXACT_WITHIN = 1e-9


def ricker_xcorr(
    sig: np.ndarray, centres: np.ndarray, radius: int, wavelet: np.ndarray
) -> np.ndarray:
    """XQRS's learning score of every centre at once: the correlation of the unit-norm segment
    ``sig[i - radius : i + radius]`` with ``wavelet``; wfdb computes it one peak at a time
    (``normalize`` + ``np.correlate``), ~370 Python calls per two-minute chunk. Every centre
    must have ``radius`` samples on both sides. Scores within XCORR_EXACT_WITHIN of the
    threshold are wfdb's exact ones."""
    from wfdb.processing.basic import normalize

    centres = np.asarray(centres, dtype=np.int64)
    if centres.size == 0:
        return np.empty(0)
    segments = sig[centres[:, None] + np.arange(-radius, radius)[None, :]]
    with np.errstate(divide="ignore", invalid="ignore"):  # a flat segment: nan, as in wfdb
        scores = (segments @ wavelet) / np.sqrt(np.einsum("ij,ij->i", segments, segments))
    for k in np.flatnonzero(np.abs(scores - XCORR_THRESHOLD) < XCORR_EXACT_WITHIN):
        with np.errstate(divide="ignore", invalid="ignore"):
            scores[k] = np.correlate(normalize(segments[k]), wavelet)[0]
    return scores


@lru_cache(maxsize=1)
def fast_xqrs() -> type:
    """wfdb's XQRS with its learning phase (``_learn_init_params``) scored in one vectorised
    step (``ricker_xcorr``); the same peaks are inspected in the same order with the same
    decisions, so the detections are XQRS's own (``tests/recordings/test_detection.py``)."""
    from wfdb.processing import XQRS, qrs

    class FastXQRS(XQRS):
        # wfdb designs both filters and measures their gains on every run (a quarter of a
        # two-minute chunk's filtering time); the designs depend only on the rate and band.
        def _bandpass(self, fc_low: float = 5, fc_high: float = 20) -> None:
            # wfdb 4.3.1's method, with the design from ``_band_design``.
            self.fc_low = fc_low
            self.fc_high = fc_high
            b, a, self.filter_gain = _band_design(float(self.fs), fc_low, fc_high)
            self.sig_f = qrs.signal.filtfilt(b, a, self.sig[self.sampfrom : self.sampto], axis=0)

        def _mwi(self) -> None:
            # wfdb 4.3.1's method, with the wavelet and its gain from ``_mwi_design``.
            wavelet_filter, self.mwi_gain = _mwi_design(
                float(self.fs), self.qrs_width, self.fc_low, self.fc_high
            )
            self.sig_i = qrs.signal.filtfilt(wavelet_filter, [1], self.sig_f, axis=0) ** 2
            self.transform_gain = self.filter_gain * self.mwi_gain
            self.peak_inds_i = qrs.find_local_peaks(self.sig_i, radius=self.qrs_radius)
            self.n_peaks_i = len(self.peak_inds_i)

        def _learn_init_params(self, n_calib_beats: int = 8) -> None:
            # wfdb 4.3.1's method, with the per-peak score taken from ``ricker_xcorr``.
            last_qrs_ind = -self.rr_max
            qrs_inds: list[int] = []
            qrs_amps: list[float] = []
            noise_amps: list[float] = []
            ricker_wavelet = qrs.ricker(self.qrs_radius * 2, 4)
            peak_inds_f = np.asarray(qrs.find_local_peaks(self.sig_f, self.qrs_radius))
            peak_nums_r = np.where(peak_inds_f > self.qrs_width)[0]
            peak_nums_l = np.where(peak_inds_f <= self.sig_len - self.qrs_width)[0]
            if not peak_inds_f.size or not peak_nums_r.size or not peak_nums_l.size:
                self._set_default_init_params()
                return
            centres = peak_inds_f[peak_nums_r[0] : peak_nums_l[-1]].astype(np.int64)
            scores = ricker_xcorr(self.sig_f, centres, self.qrs_radius, ricker_wavelet)
            for i, score in zip(centres, scores, strict=True):
                if score > XCORR_THRESHOLD and i - last_qrs_ind > self.rr_min:
                    last_qrs_ind = i
                    qrs_inds.append(i)
                    qrs_amps.append(self.sig_i[i])
                else:
                    noise_amps.append(self.sig_i[i])
                if len(qrs_inds) == n_calib_beats:
                    break
            if len(qrs_inds) != n_calib_beats:
                self._set_default_init_params()
                return
            qrs_amp = np.mean(qrs_amps)
            noise_amp = np.mean(noise_amps) if noise_amps else qrs_amp / 10
            rr_intervals = np.diff(qrs_inds)
            rr_intervals = rr_intervals[rr_intervals < self.rr_max]
            rr_recent = np.mean(rr_intervals) if rr_intervals.any() else self.rr_init
            self._set_init_params(
                qrs_amp_recent=qrs_amp,
                noise_amp_recent=noise_amp,
                rr_recent=rr_recent,
                last_qrs_ind=min(0, qrs_inds[0] - self.rr_min - 1),
            )
            self.learned_init_params = True

    return FastXQRS


@lru_cache(maxsize=16)
def _band_design(fs: float, fc_low: float, fc_high: float) -> tuple[np.ndarray, np.ndarray, float]:
    """XQRS's band-pass (b, a) and its passband gain (x2: filtered twice), as wfdb computes them
    in ``XQRS._bandpass``; read-only, since every run shares them."""
    from scipy import signal
    from wfdb.processing.basic import get_filter_gain

    b, a = signal.butter(2, [float(fc_low) * 2 / fs, float(fc_high) * 2 / fs], "pass")
    gain = get_filter_gain(b, a, np.mean([fc_low, fc_high]), fs) * 2
    b.flags.writeable = False
    a.flags.writeable = False
    return b, a, gain


@lru_cache(maxsize=16)
def _mwi_design(
    fs: float, qrs_width: int, fc_low: float, fc_high: float
) -> tuple[np.ndarray, float]:
    """XQRS's moving-wave-integration wavelet and its gain (x2), as in ``XQRS._mwi``."""
    from wfdb.processing import qrs
    from wfdb.processing.basic import get_filter_gain

    wavelet = qrs.ricker(qrs_width, 4)
    gain = get_filter_gain(wavelet, [1], np.mean([fc_low, fc_high]), fs) * 2
    wavelet.flags.writeable = False
    return wavelet, gain

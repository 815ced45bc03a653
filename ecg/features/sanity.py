"""Input sanity checks of an analysed recording: warnings a reader must see before the classes.

Each check looks at what the analysis found (beat times, classes, states) and at the lead it
read, and says in one sentence why the result may not mean what it seems (issue 18, point 3):

- ``class_mix``: most classified beats are ventricular (V or ``!``): on a real patient that is
  rare; on a wrong lead, a wrong rate or an artefact-ridden signal it is the usual failure;
- ``heart_rate``: the median heart rate from the beat spacing is outside 20-300 bpm;
- ``sampling_rate``: the beat spacing is implausible at the stated rate but ordinary at a
  common other rate (the file's rate is probably wrong);
- ``lead``: the analysed lead is not one the model was trained on (or is unnamed);
- ``inverted``: on a lead whose QRS normally points up (I, II, MLII, aVF, V4-V6), most QRS
  complexes point down (a swapped electrode or a flipped sign).

Pure NumPy, no Django: the recordings app stores the warnings with the recording's quality and
shows them on its page, in the PDF and through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ecg.dsp.signal import bandpass
from ecg.features.beat_states import CLASSIFIED
from ecg.io.records import normalised_lead

# Below this many classified beats a class mix says nothing.
MIN_BEATS_FOR_MIX = 20
VENTRICULAR_CODES = ("V", "!")
VENTRICULAR_SHARE = 0.5
HEART_RATE_BPM = (20.0, 300.0)
# Beat spacing that is ordinary for an adult at rest; a rate that puts the median there is the
# suggestion when the stated rate gives an implausible heart rate.
ORDINARY_BPM = (40.0, 150.0)
PLAUSIBLE_BPM = (30.0, 250.0)
COMMON_RATES_HZ = (100.0, 125.0, 128.0, 200.0, 250.0, 256.0, 300.0, 360.0, 500.0, 512.0, 1000.0)
# Leads whose QRS points up in most people (limb leads I, II, aVF; left precordial V4-V6).
UPRIGHT_LEADS = {"I", "II", "AVF", "V4", "V5", "V6"}  # after normalised_lead
INVERTED_SHARE = 0.7
_QRS_HALF_WIDTH_S = 0.06
MAX_POLARITY_BEATS = 300


@dataclass(frozen=True)
class InputWarning:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def median_heart_rate(peaks: np.ndarray, fs: float) -> float | None:
    """Median heart rate (bpm) from the spacing of consecutive beats; None under 2 beats."""
    peaks = np.asarray(peaks)
    if peaks.size < 2:
        return None
    rr = np.diff(np.sort(peaks)) / fs
    rr = rr[rr > 0]
    return float(60.0 / np.median(rr)) if rr.size else None


def suggested_sampling_rate(peaks: np.ndarray, fs: float) -> float | None:
    """A common sampling rate at which the median beat spacing would be an ordinary heart rate,
    when at ``fs`` it is implausible; None when ``fs`` is plausible or no common rate fits."""
    rate = median_heart_rate(peaks, fs)
    if rate is None or PLAUSIBLE_BPM[0] <= rate <= PLAUSIBLE_BPM[1]:
        return None
    fits = [r for r in COMMON_RATES_HZ if ORDINARY_BPM[0] <= rate * r / fs <= ORDINARY_BPM[1]]
    if not fits:
        return None
    # The fitting rate nearest to a resting 75 bpm.
    return min(fits, key=lambda r: abs(rate * r / fs - 75.0))


def qrs_points_down_share(
    signal: np.ndarray, fs: float, peaks: np.ndarray, *, max_beats: int = MAX_POLARITY_BEATS
) -> float | None:
    """Share of beats whose QRS's largest deflection (0.5-40 Hz, within 60 ms of the detection)
    is negative; None without beats. At most ``max_beats`` beats spread over the recording are
    looked at, each filtered in its own 2-s stretch: memory stays small on a 24-hour lead."""
    peaks = np.asarray(peaks, dtype=np.int64)
    n = np.shape(signal)[0]
    if peaks.size == 0 or n < int(fs):
        return None
    chosen = peaks[
        np.unique(np.linspace(0, peaks.size - 1, min(peaks.size, max_beats)).astype(int))
    ]
    context = int(round(fs))
    stretch = np.clip(chosen[:, None] + np.arange(-context, context + 1)[None, :], 0, n - 1)
    clean = bandpass(np.asarray(signal)[stretch], fs)  # filtered along each row
    half = max(1, int(round(_QRS_HALF_WIDTH_S * fs)))
    centre = clean[:, context - half : context + half + 1]
    return float((np.abs(centre.min(axis=1)) > centre.max(axis=1)).mean())


def recording_warnings(
    *,
    signal: np.ndarray,
    fs: float,
    peaks: np.ndarray,
    labels: Sequence[str],
    states: Sequence[str],
    lead: str,
    trained_leads: Sequence[str],
) -> list[InputWarning]:
    """Every warning that applies to one analysed lead (empty when nothing looks wrong).

    ``peaks`` are the detected beats (samples), ``labels`` and ``states`` their model class and
    state (classified / uncertain / unreadable), ``lead`` the analysed lead's name and
    ``trained_leads`` the leads the model was trained on (its metadata's ``leads``, or ``lead``).
    """
    found: list[InputWarning] = []
    classified = [label for label, state in zip(labels, states, strict=True) if state == CLASSIFIED]
    if len(classified) >= MIN_BEATS_FOR_MIX:
        share = sum(label in VENTRICULAR_CODES for label in classified) / len(classified)
        if share > VENTRICULAR_SHARE:
            found.append(
                InputWarning(
                    "class_mix",
                    f"{share:.0%} of the classified beats are ventricular (V or !): an unusual "
                    "mix. Check the lead, the sampling rate and the signal before trusting the "
                    "classes.",
                )
            )
    rate = median_heart_rate(peaks, fs)
    if rate is not None and not HEART_RATE_BPM[0] <= rate <= HEART_RATE_BPM[1]:
        found.append(
            InputWarning(
                "heart_rate",
                f"The median heart rate from the detected beats is {rate:.0f} bpm, outside "
                f"{HEART_RATE_BPM[0]:.0f}-{HEART_RATE_BPM[1]:.0f} bpm: the beats or the "
                "sampling rate are probably wrong.",
            )
        )
    suggested = suggested_sampling_rate(peaks, fs)
    if suggested is not None:
        found.append(
            InputWarning(
                "sampling_rate",
                f"The beat spacing does not fit the stated {fs:g} Hz (median {rate:.0f} bpm) "
                f"but would at {suggested:g} Hz: check the file's sampling rate.",
            )
        )
    if isinstance(trained_leads, str):  # one lead's name, not its letters
        trained_leads = [trained_leads]
    trained = [normalised_lead(name) for name in trained_leads]
    if trained and normalised_lead(lead) not in trained:
        # A CSV without a header names its columns "lead 1", "lead 2"...: no lead is known.
        unnamed = not normalised_lead(lead) or normalised_lead(lead).isdigit()
        if unnamed:
            named = "an unnamed column (its lead is not known)"
        elif normalised_lead(lead) == "IMAGE":  # a strip image names no lead
            named = "an image whose lead is not known (name it in the Lead field)"
        else:
            named = f"lead {lead}"
        listed = ", ".join(trained_leads)
        found.append(
            InputWarning(
                "lead",
                f"The model was trained on lead{'s' if len(trained) > 1 else ''} {listed}; this "
                f"analysis read {named}. Classes on other leads are less reliable.",
            )
        )
    name = normalised_lead(lead)
    if name in UPRIGHT_LEADS:
        down = qrs_points_down_share(signal, fs, peaks)
        if down is not None and np.asarray(peaks).size >= 5 and down > INVERTED_SHARE:
            found.append(
                InputWarning(
                    "inverted",
                    f"{down:.0%} of the QRS complexes point down on lead {lead}, where they "
                    "normally point up: the lead may be inverted (swapped electrodes or a "
                    "flipped sign).",
                )
            )
    return found

"""Digitising ECG images drawn by other code: accuracy, scale, refusal, speed, classification.

    python benchmarks/digitise_benchmark.py [--beats-per-class 40] [--strips 8]
        [--scalefree-model PATH] [--splits DS1_train ...] [--renderers NAME ...]

MIT-BIH beats (0.25 s before to 0.45 s after the annotated R peak, band-passed as the app
does) and 10-s strips are drawn by independent renderers (benchmarks/digitise_renderers.py),
digitised (ecg.imaging.digitise) and compared with the source signal. DS1 (training patients
and the validation records 106, 124, 209, 223) and DS2 are reported separately; every
threshold in the digitiser and the not-an-ECG check was set on DS1 images and generated
non-ECG images, never on DS2.

Per renderer: median correlation of the digitised trace (stretched over the truth's span)
with the truth; the PhysioNet/CinC 2024 digitisation SNR (10 log10 of signal power over error
power, both mean-removed, in mV) on grid images, and the SNR after the best gain and offset
on every image (amplitude is unknown without a grid); the grid scale error; the share of ECG
images wrongly refused or flagged; time per image (p50, digitise + check). Non-ECG images
(photos, noise, text pages, web-page screenshots, sines, random walks) measure refusal.
Beat renderers also feed the shipped beat_image_cnn (digitise -> beat window -> the app's
beat image) beside the app's own drawing of the same beats, with intervals over patients and
the paired difference (digitised minus own drawing, resampling the same patients). The
scale-free single-beat model (amplitude "normalised_ptp", the one the app serves for digitised
beats whose amplitude was assumed; ``--scalefree-model`` for one not installed) is scored on
the same digitised beats, against the shipped model's own drawing (the issue's target), on DS1
validation too: whether it ships is decided there (``SELECTION_RULE``), never on DS2.

Per renderer, ``scale_source_counts`` says how many images got their scale from an ECG-paper
grid, from axis tick labels (``ecg.imaging.axis_scale``) or neither ("assumed": the app then
averages the beat model over the amplitude prior); ``classification.served`` is what the app
serves (read scale where there is one, else the prior) with intervals over patients and its
paired difference against the own drawing (``served_minus_own``; ``target``: within
``TARGET_POINTS``); ``prior_only`` the same beats as served before the axis reading;
``served_given_height`` as served when the user gives the trace's height exactly (the
upload's optional "trace height in mV") for the beats whose scale was not read.

Beats are drawn per class spread over the split's records (each class's records in turn, a
fixed seed). Until the R-peak change of issue 19 the run drew 8 beats a class from the pooled
beats: those figures are kept in benchmarks/results/digitise_48_beats_before_r_peak_fix.json.

Writes benchmarks/results/digitise.json.

Long on purpose: one run draws, digitises and scores every renderer on every split, and the
classification blocks (both beat models, the selection rule) read the same drawn beats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import digitise_renderers as R  # noqa: E402
from ecg.classes import DS1_RECORDS, DS2_RECORDS, class_codes  # noqa: E402
from ecg.dsp.signal import MODEL_FS, prepare_signal  # noqa: E402
from ecg.features.beats import beat_annotations, labels_for  # noqa: E402
from ecg.imaging.digitise import (  # noqa: E402
    ASSUMED_BEAT_PTP_MV,
    amplitude_candidates,
    beat_window,
    digitise,
)
from ecg.imaging.ecg_check import check_ecg_image  # noqa: E402
from ecg.io.records import load_record  # noqa: E402
from ecg.training.dataset import DS1_VALIDATION_RECORDS  # noqa: E402
from ecg.training.metrics import (  # noqa: E402
    bootstrap_difference,
    bootstrap_intervals,
    confusion_matrix,
    per_class_from_confusion,
    per_record_confusions,
)

FS = MODEL_FS
# Beat renderers without a grid: their amplitude is assumed, so the app serves them with the
# scale-free model when one is installed.
NO_GRID_BEAT_RENDERERS = (
    "matplotlib_axes",
    "matplotlib_no_axes",
    "matplotlib_thick_coloured",
    "matplotlib_dark",
    "pillow_200x120",
    "pillow_1200x600_thick",
    "pillow_jpeg_q40",
    "minmax_64x64",
)
# Written before any validation figure of the scale-free model was seen (issue 19).
SELECTION_RULE = (
    "ship the scale-free model for digitised beats of assumed amplitude if and only if, on the "
    "DS1 validation records' beats drawn by the eight no-grid renderers, its accuracy averaged "
    "over the renderers is higher than the shipped beat_image_cnn's on the same digitised "
    "beats at the assumed amplitude (what the app served them before); DS2 is not looked at"
)
# Written before the first run that measured it (issue 19, the unknown amplitude again):
PRIOR_RULE = (
    "serve digitised beats of assumed amplitude with the shipped beat model's probabilities "
    "averaged over the five DS1-training amplitude percentiles (AMPLITUDE_PRIOR_MV) if and only "
    "if, on the DS1 validation records' beats drawn by the eight no-grid renderers, its "
    "accuracy averaged over the renderers is higher than at the single assumed 2.0 mV; DS2 is "
    "not looked at"
)
# Written before the run that measured it (issue 19, rotated strips without a grid): how the
# digitiser's tilt estimate for bare strips is chosen, from ``--strips-only`` runs of the old
# and the new estimate on the same images.
TILT_RULE = (
    "replace the baseline-slope tilt of bare strips by the new estimate if and only if, on the "
    "DS1 validation records' strips, the median correlation of strip_pillow_1600x400_rotated_3deg "
    "improves and strip_pillow_1600x400, strip_matplotlib_wide_axes and the three paper_strip "
    "renderers each lose no more than 0.005 of median correlation; DS1 train and DS2 are "
    "reported only"
)
# Written before the run that measured it (issue 19, ECG paper that is not pink): whether the
# digitiser reads grey, blue and greyscale-copied paper as a grid (``paper_grid_angle``) and
# samples the background colour at random pixels instead of every third one.
PAPER_RULE = (
    "serve the not-pink paper grid if and only if, on the DS1 validation records, every new "
    "paper renderer (paper_beat_grey, paper_beat_greyscale_scan_jpeg_q60, paper_strip_grey, "
    "paper_strip_greyscale_scan_jpeg_q60, paper_strip_blue_rotated_3deg) reads its scale "
    "within 2 % on every image and its strips' median correlation is at least 0.95, every "
    "renderer of the previous run keeps its median correlation within 0.005 and its "
    "scale-source counts, and no non-ECG image kind is refused or flagged less often; DS1 "
    "train and DS2 are reported only"
)
# Written before the run that measured it (issue 19, wfdb-python's own plots): whether the
# digitiser removes a straight line's pixels only where they are no stronger ink than the line
# (``digitise.line_pixels``: a blue trace crossing grey gridlines keeps its pixels there)
# instead of whole rows and columns. "Before" is the old removal on the same images
# (``benchmarks/results/digitise_wfdb_before_line_colour.json``, ``--no-model``).
LINE_COLOUR_RULE = (
    "remove only a line's own pixels if and only if, on the DS1 validation records, the median "
    "correlation of wfdb_plot_items_grids (beats and strips) improves over the old removal, "
    "every other renderer keeps its median correlation within 0.005 and its scale-source "
    "counts, its served accuracy does not fall by more than one beat, and no non-ECG image "
    "kind is refused or flagged less often; DS1 train and DS2 are reported only"
)
# Written before the run that measured it (issue 19: wfdb-python numbers its time axis in
# samples, and plt.plot(beat) does too): whether x labels in the hundreds read as milliseconds
# are kept for a single beat only when the trace then spans a plausible beat (BEAT_SPAN_RANGE_S
# in ecg.imaging.digitise), else the assumed beat span is used. "Before" is the run with the
# line-colour removal (benchmarks/results/digitise_before_beat_span.json).
BEAT_SPAN_RULE = (
    "discard a single beat's millisecond x reading outside the plausible beat span if and only "
    "if, on the DS1 validation records, the served accuracy of wfdb_plot_items_grids improves "
    "and every other renderer keeps its served accuracy within one beat, its median "
    "correlation within 0.005 and its scale-source counts, and no non-ECG image kind is refused "
    "or flagged less often; DS1 train and DS2 are reported only"
)
# Written before the run that measured it (issue 19: a strip plotted against sample numbers,
# as wfdb's plot_items and plt.plot(signal) number it, has its x labels read as milliseconds: a
# 10-s strip at 360 Hz then lasts 3.6 s and its heart rate is 2.8 times too high): whether a
# strip's millisecond reading is discarded (the assumed 10 s instead) when its large
# deflections would then come faster than STRIP_MAX_RATE_BPM (ecg.imaging.digitise).
STRIP_RATE_RULE = (
    "discard a strip's millisecond x reading that implies large deflections faster than the "
    "plausible rate if and only if, on the DS1 validation records, strip_wfdb_plot_items_grids' "
    "median duration error falls and every other strip renderer keeps its median duration "
    "error within 0.01, its median correlation within 0.005 and its scale-source counts; "
    "DS1 train and DS2 are reported only"
)
# Written before the run that measured it (issue 19: pink paper whose lines all weigh the same
# has its 1 mm lines taken for the 5 mm grid, a scale five times too small): whether a grid
# of lines all alike is read at 1 mm when the 5 mm reading is implausible (a beat over 2.5 s,
# a strip under 30 a minute) and the 1 mm one is not (``_grid_period_checked``). "Before" and
# "after" are runs of the same command on the same images (--renderers paper_beat
# paper_beat_equal_lines --non-ecg 0): benchmarks/results/digitise_equal_lines_before.json,
# digitise_equal_lines_after.json.
GRID_PERIOD_RULE = (
    "read a grid of lines all alike at 1 mm when its 5 mm reading is physiologically "
    "implausible and its 1 mm reading is not, if and only if, on the DS1 validation records, "
    "paper_beat_equal_lines' and paper_strip_equal_lines' median duration error falls, and "
    "paper_beat and every other strip renderer keep their median correlation within 0.005, "
    "duration error within 0.01, served accuracy within one beat and scale-source counts; "
    "DS1 train and DS2 are reported only"
)
# The target: a renderer's served accuracy within this many points of the own
# drawing's on DS1 training patients.
TARGET_POINTS = 3.0
PRE, POST = 90, 162  # 0.25 s and 0.45 s at 360 Hz
STRIP = 3600  # 10 s


def beat_renderers(rng: np.random.Generator) -> dict:
    angle = lambda: float(rng.uniform(-3, 3))  # noqa: E731
    return {
        "matplotlib_axes": lambda x: R.mpl_plot(x, FS),
        "matplotlib_no_axes": lambda x: R.mpl_plot(x, FS, axes=False),
        "matplotlib_thick_coloured": lambda x: R.mpl_plot(x, FS, color="tab:red", linewidth=4),
        "matplotlib_dark": lambda x: R.mpl_plot(x, FS, dark=True),
        "pillow_200x120": lambda x: R.pillow_line(x, width=200, height=120),
        "pillow_1200x600_thick": lambda x: R.pillow_line(x, width=1200, height=600, line=4),
        "pillow_jpeg_q40": lambda x: R.jpeg(R.pillow_line(x, width=500, height=300), 40),
        "minmax_64x64": R.minmax_64,
        "paper_beat": lambda x: R.ecg_paper(x, FS),
        "paper_beat_jpeg_q60": lambda x: R.jpeg(R.ecg_paper(x, FS, px_per_mm=10.0), 60),
        "paper_beat_rotated_3deg": lambda x: R.rotated(R.ecg_paper(x, FS), angle()),
        # Plots with numbered axes the app reads its scale from (issue 19); the last two are
        # stand-ins drawn with matplotlib in the other tools' default look, not the tools.
        "pillow_axes_liberation": lambda x: R.pillow_axes_plot(x, FS),
        "matlab_like_standin": lambda x: R.matlab_like_plot(x, FS),
        "excel_like_standin": lambda x: R.excel_like_chart(x, FS),
        # ECG paper that is not pink (issue 19): grey lines, a greyscale scan or copy of pink
        # paper. Last, and without a rotation: the renderers above draw the same angles.
        "paper_beat_grey": lambda x: R.ecg_paper(x, FS, **R.GREY_PAPER),
        "paper_beat_greyscale_scan_jpeg_q60": lambda x: R.jpeg(
            R.greyscale(R.ecg_paper(x, FS, px_per_mm=10.0)), 60
        ),
        # wfdb-python's plot with its ECG grids: grey gridlines under a blue line (issue 19's
        # "renderers you do not have"). Last; it draws no random numbers.
        "wfdb_plot_items_grids": lambda x: R.wfdb_plot(x, FS, size=(4, 3)),
        # Pink paper whose 1 mm lines weigh as much as the 5 mm ones (no heavier fifth line).
        "paper_beat_equal_lines": lambda x: R.ecg_paper(x, FS, **R.EQUAL_LINES_PAPER),
    }


def strip_renderers(rng: np.random.Generator, angles: list[float] | None = None) -> dict:
    """The strip renderers; ``angles`` (if given) collects each rotation drawn, in order."""

    def angle() -> float:
        a = float(rng.uniform(-3, 3))
        if angles is not None:
            angles.append(a)
        return a

    return {
        "matplotlib_wide_axes": lambda x: R.mpl_plot(x, FS, size=(16, 4)),
        "pillow_1600x400": lambda x: R.pillow_line(x, width=1600, height=400),
        "pillow_1600x400_rotated_3deg": lambda x: R.rotated(
            R.pillow_line(x, width=1600, height=400), angle()
        ),
        "paper_strip": lambda x: R.ecg_paper(x, FS),
        "paper_strip_jpeg_q60": lambda x: R.jpeg(R.ecg_paper(x, FS), 60),
        "paper_strip_rotated_3deg": lambda x: R.rotated(R.ecg_paper(x, FS), angle()),
        # Not pink (issue 19); last, so the strips above keep their angles.
        "paper_strip_grey": lambda x: R.ecg_paper(x, FS, **R.GREY_PAPER),
        "paper_strip_greyscale_scan_jpeg_q60": lambda x: R.jpeg(
            R.greyscale(R.ecg_paper(x, FS)), 60
        ),
        "paper_strip_blue_rotated_3deg": lambda x: R.rotated(
            R.ecg_paper(x, FS, **R.BLUE_PAPER), angle()
        ),
        "wfdb_plot_items_grids": lambda x: R.wfdb_plot(x, FS, size=(16, 4)),
        "paper_strip_equal_lines": lambda x: R.ecg_paper(x, FS, **R.EQUAL_LINES_PAPER),
    }


def sample_beats(data_dir: Path, records, per_class: int, seed: int):
    """Up to ``per_class`` beats of each class, spread over the records that have it: the
    records are taken in turn (a shuffled order), one random beat each, so one patient with
    thousands of beats of a class does not fill the sample (fixed seed)."""
    rng = np.random.default_rng(seed)
    pool: dict[int, list[tuple[str, int]]] = {}
    signals, strips, ptp = {}, {}, []
    for name in records:
        rec = load_record(data_dir, name)
        x = prepare_signal(rec.signal, rec.fs)
        scale = FS / rec.fs
        signals[name] = x
        samples, symbols = beat_annotations(rec.ann_samples, rec.ann_symbols)
        samples = np.round(samples * scale).astype(int)
        labels = labels_for(symbols)
        ok = (labels >= 0) & (samples - PRE >= 0) & (samples + POST <= len(x))
        offsets = np.arange(-PRE, POST)
        ptp.append(np.ptp(x[samples[ok][:, None] + offsets[None, :]], axis=1))
        for s, y in zip(samples[ok], labels[ok], strict=True):
            pool.setdefault(int(y), []).append((name, int(s)))
        start = int(rng.integers(0, len(x) - STRIP))
        strips[name] = x[start : start + STRIP]
    beats = []
    for y, items in sorted(pool.items()):
        by_record: dict[str, list[int]] = {}
        for name, s in items:
            by_record.setdefault(name, []).append(s)
        queues = {name: list(rng.permutation(ss)) for name, ss in sorted(by_record.items())}
        order = [str(name) for name in rng.permutation(sorted(queues))]
        picked: list[tuple[str, int, int]] = []
        while len(picked) < per_class and any(queues.values()):
            for name in order:
                if queues[name] and len(picked) < per_class:
                    picked.append((name, int(queues[name].pop()), y))
        beats += picked
    return signals, strips, beats, np.concatenate(ptp)


def stretched(signal: np.ndarray, n: int) -> np.ndarray:
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(signal)), signal)


def signal_scores(digitised, truth: np.ndarray) -> dict:
    """Correlation, CinC 2024 SNR (mV, grid only) and SNR after the best gain and offset."""
    y = stretched(digitised.signal, len(truth))
    t = truth - truth.mean()
    corr = float(np.corrcoef(y, truth)[0, 1]) if np.std(y) > 0 else 0.0
    a = np.vstack([y, np.ones_like(y)]).T
    fit = a @ np.linalg.lstsq(a, truth, rcond=None)[0]
    snr_fit = 10 * np.log10(np.sum(t**2) / max(np.sum((truth - fit) ** 2), 1e-12))
    # The time scale: the trace's duration at its sampling rate (read or assumed) over the
    # truth's (a beat or strip plotted against sample numbers and read as milliseconds is off
    # by the sampling rate over 1,000).
    duration_ratio = (len(digitised.signal) / digitised.fs) / (len(truth) / FS)
    out = {"corr": corr, "snr_fitted_db": float(snr_fit), "duration_ratio": float(duration_ratio)}
    if digitised.units == "mV":
        e = t - (y - y.mean())
        out["snr_db"] = float(10 * np.log10(np.sum(t**2) / max(np.sum(e**2), 1e-12)))
    if digitised.scale_source == "grid":
        out.update(aligned_scores(digitised, truth))
    return out


# Largest time shift searched by ``aligned_scores`` (s), and the least share of the truth the
# shifted trace must overlap for a shift to count.
ALIGN_MAX_SHIFT_S = 1.0
ALIGN_MIN_OVERLAP = 0.5


def aligned_scores(digitised, truth: np.ndarray) -> dict:
    """Correlation of a trace whose time scale was read from the grid, resampled by that scale
    (not stretched to the truth's length) and shifted by the lag that correlates best.

    ``corr`` stretches the trace over the whole truth, which is right only when the image shows
    all of it. A rotated strip whose ends the rotation pushed out of the frame shows less: its
    trace is shorter than the truth, and stretching slides every beat off its reference (a
    10-s strip missing 0.2 s is 0.2 s off at its end, more than a QRS is wide). Here the trace
    keeps the read sampling rate and is scored where it overlaps the truth, with the share of the
    truth that the image showed (``read_share``) beside it.
    """
    x = np.asarray(digitised.signal, dtype=np.float64)
    n = int(round(len(x) * FS / digitised.fs))
    y = np.interp(np.arange(n) * digitised.fs / FS, np.arange(len(x)), x)
    limit = int(ALIGN_MAX_SHIFT_S * FS)
    best = (-np.inf, 0)
    for lag in range(-limit, limit + 1):  # y[i] is truth[i + lag]
        lo, hi = max(0, lag), min(len(truth), n + lag)
        if hi - lo < ALIGN_MIN_OVERLAP * len(truth):
            continue
        a, b = y[lo - lag : hi - lag], truth[lo:hi]
        if np.std(a) > 0:
            best = max(best, (float(np.corrcoef(a, b)[0, 1]), lag))
    return {
        "corr_aligned": best[0] if np.isfinite(best[0]) else 0.0,
        "aligned_shift_s": best[1] / FS,
        "read_share": min(1.0, n / len(truth)),
    }


def summarise(rows: list[dict], true_ppmm: float | None) -> dict:
    done = [r for r in rows if "corr" in r]
    summary = {
        "images": len(rows),
        "digitised": len(done),
        "median_corr": float(np.median([r["corr"] for r in done])) if done else None,
        "share_corr_ge_0.95": float(np.mean([r["corr"] >= 0.95 for r in done])) if done else None,
        "median_snr_fitted_db": float(np.median([r["snr_fitted_db"] for r in done]))
        if done
        else None,
        "refused_or_flagged": float(np.mean([r["status"] != "ecg" for r in rows])),
        "refused_no_trace": float(np.mean([r["status"] == "no_trace" for r in rows])),
        "time_ms_p50": float(np.median([r["ms"] for r in rows])),
        "kind_single_beat": float(np.mean([r.get("kind") == "single_beat" for r in done]))
        if done
        else None,
    }
    # How the scale was found: ECG-paper grid, axis tick labels, or neither (the digitiser's
    # "assumed": the app then averages the beat model over AMPLITUDE_PRIOR_MV, "prior").
    summary["scale_source_counts"] = {
        source: sum(r.get("scale_source") == source for r in rows)
        for source in ("grid", "axis_labels", "assumed")
    }
    summary["scale_source_counts"]["not_digitised"] = sum("scale_source" not in r for r in rows)
    labelled = sorted({r["label"] for r in rows if "label" in r})
    if labelled:
        summary["refused_or_flagged_by_class"] = {
            c: float(np.mean([r["status"] != "ecg" for r in rows if r.get("label") == c]))
            for c in labelled
        }
    ratios = [r["duration_ratio"] for r in done if "duration_ratio" in r]
    if ratios:
        errors = np.abs(np.array(ratios) - 1.0)
        summary["median_duration_error"] = float(np.median(errors))
        summary["share_duration_within_5pct"] = float(np.mean(errors <= 0.05))
    aligned = [r for r in done if "corr_aligned" in r]
    if aligned:
        summary["median_corr_aligned"] = float(np.median([r["corr_aligned"] for r in aligned]))
        summary["median_read_share"] = float(np.median([r["read_share"] for r in aligned]))
        summary["read_share_under_0.98"] = int(sum(r["read_share"] < 0.98 for r in aligned))
    snr = [r["snr_db"] for r in done if "snr_db" in r]
    if snr:
        summary["median_snr_db_cinc2024"] = float(np.median(snr))
    if true_ppmm is not None:
        errors = [abs(r["px_per_mm"] / true_ppmm - 1) for r in done if r.get("px_per_mm")]
        summary["grid_found"] = len(errors) / max(len(done), 1)
        if errors:
            summary["scale_error_median"] = float(np.median(errors))
            summary["scale_error_max"] = float(np.max(errors))
    return summary


def run_image(drawn, truth: np.ndarray) -> tuple[dict, object]:
    t0 = time.perf_counter()
    verdict = check_ecg_image(drawn.image)
    ms = 1000 * (time.perf_counter() - t0)
    row = {"status": verdict.status, "ms": ms}
    d = verdict.digitised
    if d is None:
        try:
            d = digitise(drawn.image)
        except ValueError:
            return row, None
    row.update(signal_scores(d, truth))
    row.update({"kind": d.kind, "px_per_mm": d.px_per_mm, "scale_source": d.scale_source})
    return row, d


def scored(bundle, windows, labels, records, classes) -> tuple[dict, dict]:
    """Accuracy, per-class figures and intervals over patients of ``bundle`` on ``windows``
    drawn by its own representation (the serving path), and the per-record confusions."""
    images = bundle.render(np.stack(windows).astype(np.float32))
    pred = bundle.predict_proba(images).argmax(axis=1)
    cm = confusion_matrix(labels, pred, len(classes))
    per_record = per_record_confusions(labels, pred, records, len(classes))
    return {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "per_class": per_class_from_confusion(cm, classes),
        "intervals_over_patients": bootstrap_intervals(per_record, classes, resamples=1000),
    }, per_record


def classify_scalefree(bundle, reference, own_windows, foreign_windows, labels, records, classes):
    """The scale-free model on the digitised beats (no true-amplitude row: its drawing scales
    every window to one amplitude, so the true amplitude changes nothing), on its own drawing
    of the same beats, and the paired difference against the shipped model's own drawing
    (``reference``: per-record confusions), the issue's target."""
    digitised, per_digitised = scored(bundle, foreign_windows, labels, records, classes)
    own, per_own = scored(bundle, own_windows, labels, records, classes)
    return {
        "model": bundle.name,
        "digitised": digitised,
        "own_drawing_scalefree": own,
        "digitised_minus_shipped_own": bootstrap_difference(
            per_digitised, reference, "accuracy", resamples=1000
        ),
        "digitised_minus_own_scalefree": bootstrap_difference(
            per_digitised, per_own, "accuracy", resamples=1000
        ),
    }


def select_scalefree(validation: dict) -> dict:
    """``SELECTION_RULE`` applied to the DS1 validation block's renderers."""
    ours, shipped = [], []
    for name in NO_GRID_BEAT_RENDERERS:
        entry = validation["renderers"].get(name, {})
        if "classification" in entry and "classification_scalefree" in entry:
            ours.append(entry["classification_scalefree"]["digitised"]["accuracy"])
            shipped.append(entry["classification"]["digitised"]["accuracy"])
    if len(ours) < len(NO_GRID_BEAT_RENDERERS):
        return {"rule": SELECTION_RULE, "decided": False, "why": "not every no-grid renderer ran"}
    return {
        "rule": SELECTION_RULE,
        "decided": True,
        "renderers": len(ours),
        "scalefree_mean_accuracy": float(np.mean(ours)),
        "shipped_mean_accuracy": float(np.mean(shipped)),
        "ship": bool(np.mean(ours) > np.mean(shipped)),
    }


def prior_probabilities(bundle, windows, assumed) -> np.ndarray:
    """The model's probabilities of each window; a window of assumed amplitude (no grid) is
    averaged over ``amplitude_candidates`` (the app's path for such beats, if chosen)."""
    probs = bundle.predict_proba(bundle.render(np.stack(windows).astype(np.float32)))
    for i in np.flatnonzero(assumed):
        rows = amplitude_candidates(windows[i])
        probs[i] = bundle.predict_proba(bundle.render(rows)).mean(axis=0)
    return probs


def select_prior(validation: dict) -> dict:
    """``PRIOR_RULE`` applied to the DS1 validation block's renderers."""
    prior, single = [], []
    for name in NO_GRID_BEAT_RENDERERS:
        c = validation["renderers"].get(name, {}).get("classification", {})
        if "digitised_amplitude_prior" in c:
            prior.append(c["digitised_amplitude_prior"]["accuracy"])
            single.append(c["digitised"]["accuracy"])
    if len(prior) < len(NO_GRID_BEAT_RENDERERS):
        return {
            "rule": PRIOR_RULE,
            "decided": False,
            "why": "not every no-grid renderer ran or had beats of assumed amplitude (since the "
            "axis-label reading the matplotlib plots with axes have none): decided in the run "
            "before it (prior 0.514 against 0.502)",
        }
    return {
        "rule": PRIOR_RULE,
        "decided": True,
        "renderers": len(prior),
        "prior_mean_accuracy": float(np.mean(prior)),
        "assumed_mean_accuracy": float(np.mean(single)),
        "ship": bool(np.mean(prior) > np.mean(single)),
    }


def _accuracy_block(pred, labels, records, classes) -> tuple[dict, dict]:
    cm = confusion_matrix(labels, pred, len(classes))
    per_record = per_record_confusions(labels, pred, records, len(classes))
    return {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "per_class": per_class_from_confusion(cm, classes),
        "intervals_over_patients": bootstrap_intervals(per_record, classes, resamples=1000),
    }, per_record


def served_block(
    bundle,
    own_per_record,
    foreign_windows,
    prior_windows,
    labels,
    records,
    classes,
    assumed,
    axis_read,
) -> dict:
    """What the app serves now, with intervals over patients and the paired difference
    against the own drawing (``own_per_record``), and the issue's target.

    Served: grid and axis-label windows at their read mV scale, the others averaged over the
    amplitude prior. ``prior_only``: the same beats as the app served them before the axis
    reading (axis-read ones drawn at the assumed amplitude, ``prior_windows``, and averaged
    over the prior too), so the axis reading's gain is paired on the same beats."""
    out: dict = {}
    served = prior_probabilities(bundle, foreign_windows, assumed).argmax(axis=1)
    out["served"], per_served = _accuracy_block(served, labels, records, classes)
    diff = bootstrap_difference(per_served, own_per_record, "accuracy", resamples=1000)
    out["served_minus_own"] = diff
    out["target"] = {
        "rule": f"served accuracy within {TARGET_POINTS:g} points of the own drawing's",
        "met": bool(100 * diff["difference"] >= -TARGET_POINTS),
        "interval_lower_within": bool(100 * diff["interval"][0] >= -TARGET_POINTS),
    }
    if np.any(axis_read):
        windows = [
            p if r else w for w, p, r in zip(foreign_windows, prior_windows, axis_read, strict=True)
        ]
        pred = prior_probabilities(bundle, windows, assumed | axis_read).argmax(axis=1)
        out["prior_only"], per_prior = _accuracy_block(pred, labels, records, classes)
        out["served_minus_prior_only"] = bootstrap_difference(
            per_served, per_prior, "accuracy", resamples=1000
        )
        out["answers_changed_by_axis_reading"] = int(np.sum(pred != served))
    return out


def given_height_block(bundle, own_per_record, given_windows, labels, records, classes) -> dict:
    """What the app serves when the user gives the trace's height (the upload's optional
    "trace height in mV"): beats of unknown scale read once at the drawn truth's peak-to-peak
    height (``beat_window(..., assumed_ptp_mv=...)``, the app's own call), the others at their
    read scale. A user who knows the height exactly: the best this option can do."""
    pred = bundle.predict_proba(bundle.render(np.stack(given_windows).astype(np.float32)))
    out, per_given = _accuracy_block(pred.argmax(axis=1), labels, records, classes)
    diff = bootstrap_difference(per_given, own_per_record, "accuracy", resamples=1000)
    out["minus_own"] = diff
    out["target_met"] = bool(100 * diff["difference"] >= -TARGET_POINTS)
    return out


def classify_block(bundle, own_windows, foreign_windows, labels, records, classes, assumed=None):
    """Accuracy and per-class figures, with intervals over patients, own drawing vs foreign,
    and the paired difference (digitised minus own) over the same resampled patients.

    Without a grid a digitised beat's amplitude is assumed; "digitised_true_amplitude" gives
    every digitised window the truth's peak-to-peak amplitude (a grid image's is read
    already), which separates what the unknown scale costs from what reading the trace
    costs."""
    out: dict = {}
    per_record = {}
    rescaled = [
        w * (np.ptp(t) / np.ptp(w)) if np.ptp(w) > 0 else w
        for w, t in zip(foreign_windows, own_windows, strict=True)
    ]
    for name, windows in (
        ("own_drawing", own_windows),
        ("digitised", foreign_windows),
        ("digitised_true_amplitude", rescaled),
    ):
        images = bundle.render(np.stack(windows).astype(np.float32))  # the app's own drawing
        pred = bundle.predict_proba(images).argmax(axis=1)
        cm = confusion_matrix(labels, pred, len(classes))
        per_record[name] = per_record_confusions(labels, pred, records, len(classes))
        out[name] = {
            "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
            "per_class": per_class_from_confusion(cm, classes),
            "intervals_over_patients": bootstrap_intervals(
                per_record[name], classes, resamples=1000
            ),
        }
    out["digitised_minus_own"] = bootstrap_difference(
        per_record["digitised"], per_record["own_drawing"], "accuracy", resamples=1000
    )
    if assumed is not None and np.any(assumed):
        # The unknown amplitude averaged over the training beats' (PRIOR_RULE).
        pred = prior_probabilities(bundle, foreign_windows, assumed).argmax(axis=1)
        cm = confusion_matrix(labels, pred, len(classes))
        per_record["prior"] = per_record_confusions(labels, pred, records, len(classes))
        out["digitised_amplitude_prior"] = {
            "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
            "per_class": per_class_from_confusion(cm, classes),
            "intervals_over_patients": bootstrap_intervals(
                per_record["prior"], classes, resamples=1000
            ),
        }
        out["prior_minus_own"] = bootstrap_difference(
            per_record["prior"], per_record["own_drawing"], "accuracy", resamples=1000
        )
    out["_own_per_record"] = per_record["own_drawing"]  # for the scale-free comparison
    return out


def non_ecg_makers(rng: np.random.Generator) -> dict:
    """The benchmark's generated non-ECG images by kind, each a call drawing the next image
    from ``rng`` (shared: the images depend on the order of the calls)."""
    return {
        "photo": lambda: R.photo_like(rng),
        "noise": lambda: R.noise_image(rng),
        "document": lambda: R.document(rng),
        "screenshot": lambda: R.screenshot(rng),
        "sine": lambda: R.sine_image(cycles=float(rng.uniform(1, 12))),
        "random_walk": lambda: R.random_walk_image(rng),
    }


def ds1_figures(
    figures: tuple[str, ...],
    renderers: list[str] | None = None,
    non_ecg: int = 0,
    data_dir: str | None = None,
) -> dict:
    """Per DS1 split (training and validation records) and renderer, ``figures`` of a run of
    this benchmark without the model (``renderers``: those beat renderers only, every strip
    renderer always), and each generated non-ECG kind's share refused or flagged (``non_ecg``
    images a kind): what a rule written before a digitiser change compares, run once with the
    change and once without it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        argv = ["--no-model", "--splits", "DS1_train", "DS1_validation",
                "--non-ecg", str(non_ecg), "--out", str(out)]  # fmt: skip
        argv += ["--renderers", *renderers] if renderers else []
        argv += ["--data-dir", data_dir] if data_dir else []
        main(argv)
        run = json.loads(out.read_text())
    return {
        "renderers": {
            split: {r: {k: v[k] for k in figures if k in v} for r, v in block["renderers"].items()}
            for split, block in run["splits"].items()
        },
        "non_ecg": {k: v["refused_or_flagged"] for k, v in run["non_ecg"]["kinds"].items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mitdb"))
    parser.add_argument("--beats-per-class", type=int, default=40)
    parser.add_argument("--strips", type=int, default=8, help="strips per split (one a record)")
    parser.add_argument("--non-ecg", type=int, default=25, help="images per non-ECG kind")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "digitise.json"))
    parser.add_argument("--no-model", action="store_true")
    parser.add_argument(
        "--scalefree-model",
        help="the scale-free beat model's .keras file (default: the one installed in models/, "
        "if any); e.g. build/runs/inter/beat_image_scalefree.keras before it is chosen",
    )
    parser.add_argument("--splits", nargs="*", help="only these splits (while developing)")
    parser.add_argument("--renderers", nargs="*", help="only these beat renderers")
    parser.add_argument(
        "--strips-only",
        action="store_true",
        help="only the strip renderers (no beats, models or non-ECG images; TILT_RULE); the "
        "rotated strips' angles then differ from a full run's, so write to another --out",
    )
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir)
    classes = class_codes()

    bundle = scalefree = None
    if args.strips_only:
        args.no_model, args.non_ecg = True, 0
        result_rule = {"tilt_rule": TILT_RULE, "paper_rule": PAPER_RULE}
    else:
        result_rule = {"paper_rule": PAPER_RULE}
    result_rule["line_colour_rule"] = LINE_COLOUR_RULE
    result_rule["beat_span_rule"] = BEAT_SPAN_RULE
    result_rule["strip_rate_rule"] = STRIP_RATE_RULE
    result_rule["grid_period_rule"] = GRID_PERIOD_RULE
    if not args.no_model:
        from ecg.models.registry import ModelRegistry

        registry = ModelRegistry(ROOT / "models")
        bundle = registry.serving_bundle(kind="beat_image")
        if args.scalefree_model:
            scalefree = registry.serving_bundle_at(Path(args.scalefree_model))
        else:
            scalefree = registry.serving_bundle(kind="beat_image", amplitude="unknown")
            if scalefree.path == bundle.path:  # none installed: the mV model would answer
                scalefree = None

    splits = {
        "DS1_train": [r for r in DS1_RECORDS if r not in DS1_VALIDATION_RECORDS],
        "DS1_validation": list(DS1_VALIDATION_RECORDS),
        "DS2": list(DS2_RECORDS),
    }
    if args.splits:
        splits = {name: records for name, records in splits.items() if name in args.splits}
    result: dict = {
        "command": "python benchmarks/digitise_benchmark.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "truth": "MIT-BIH MLII band-passed 0.5-40 Hz at 360 Hz; beats 0.25 s before to 0.45 s "
        "after the annotated R peak; strips 10 s from a random start (one a record)",
        "splits": {},
        **result_rule,
        "previous_run": "benchmarks/results/digitise_48_beats_before_r_peak_fix.json: 8 beats "
        "a class from the pooled beats (48 on DS1 train), beat windows cut around the largest "
        "deflection, before regular ECG-paper grid lines counted as background",
    }
    ptp_train = []
    for split, records in splits.items():
        rng = np.random.default_rng(19)
        signals, strips, beats, ptp_all = sample_beats(
            data_dir, records, args.beats_per_class, seed=19
        )
        truths = [signals[r][s - PRE : s + POST].astype(np.float64) for r, s, _ in beats]
        if split == "DS1_train":
            ptp_train = ptp_all  # every beat of the training records (natural class mix)
        block: dict = {"records": records, "beats": len(beats), "renderers": {}}
        labels = np.array([y for _, _, y in beats])
        recs = np.array([r for r, _, _ in beats])
        for name, draw in beat_renderers(rng).items():
            if args.strips_only or (args.renderers and name not in args.renderers):
                continue
            rows, windows, assumed, axis_read, prior_windows = [], [], [], [], []
            given_windows = []
            for truth, y in zip(truths, labels, strict=True):
                drawn = draw(truth)
                row, d = run_image(drawn, truth)
                row["label"] = classes[int(y)]
                rows.append(row)
                window = beat_window(d, FS) if d is not None else np.zeros(PRE + POST)
                windows.append(window)
                assumed.append(d is not None and d.units != "mV")
                given_windows.append(
                    beat_window(d, FS, assumed_ptp_mv=float(np.ptp(truth)))
                    if assumed[-1]
                    else window
                )
                read = d is not None and d.scale_source == "axis_labels"
                axis_read.append(read)
                # As the app drew it before the axis reading: the trace normalised to
                # peak-to-peak 1, then the assumed amplitude (beat_window's no-grid path).
                span = float(np.ptp(d.signal)) if read else 0.0
                prior_windows.append(window * (ASSUMED_BEAT_PTP_MV / span) if span else window)
            entry = summarise(rows, 10.0 if "jpeg" in name and "paper" in name else None)
            if name.startswith("paper") and "jpeg" not in name:
                entry = summarise(rows, 8.0)
            if bundle is not None:
                entry["classification"] = classify_block(
                    bundle, truths, windows, labels, recs, classes, np.array(assumed)
                )
                reference = entry["classification"].pop("_own_per_record")
                entry["classification"].update(
                    served_block(
                        bundle,
                        reference,
                        windows,
                        prior_windows,
                        labels,
                        recs,
                        classes,
                        np.array(assumed),
                        np.array(axis_read),
                    )
                )
                entry["classification"]["served_given_height"] = given_height_block(
                    bundle, reference, given_windows, labels, recs, classes
                )
                if scalefree is not None:
                    entry["classification_scalefree"] = classify_scalefree(
                        scalefree, reference, truths, windows, labels, recs, classes
                    )
            block["renderers"][name] = entry
            print(
                split,
                name,
                {k: entry[k] for k in ("median_corr", "time_ms_p50", "scale_source_counts")},
                flush=True,
            )
            if "served" in entry.get("classification", {}):
                c = entry["classification"]
                diff = c["served_minus_own"]
                print(
                    f"  served {c['served']['accuracy']:.3f} "
                    f"{c['served']['intervals_over_patients']['accuracy']}, minus own "
                    f"{diff['difference']:+.3f} {diff['interval']}, target met "
                    f"{c['target']['met']}"
                    + (
                        f", prior only {c['prior_only']['accuracy']:.3f}"
                        if "prior_only" in c
                        else ""
                    ),
                    flush=True,
                )
            if "classification" in entry:
                c = entry["classification"]
                diff = c["digitised_minus_own"]
                print(
                    f"  accuracy own {c['own_drawing']['accuracy']:.3f} "
                    f"{c['own_drawing']['intervals_over_patients']['accuracy']}, digitised "
                    f"{c['digitised']['accuracy']:.3f} "
                    f"{c['digitised']['intervals_over_patients']['accuracy']}, difference "
                    f"{diff['difference']:+.3f} {diff['interval']}, with the true amplitude "
                    f"{c['digitised_true_amplitude']['accuracy']:.3f}",
                    flush=True,
                )
            if "digitised_amplitude_prior" in entry.get("classification", {}):
                c = entry["classification"]
                diff = c["prior_minus_own"]
                print(
                    f"  amplitude prior {c['digitised_amplitude_prior']['accuracy']:.3f}, minus "
                    f"own {diff['difference']:+.3f} {diff['interval']}",
                    flush=True,
                )
            if "classification_scalefree" in entry:
                c = entry["classification_scalefree"]
                diff = c["digitised_minus_shipped_own"]
                print(
                    f"  scale-free digitised {c['digitised']['accuracy']:.3f} "
                    f"{c['digitised']['intervals_over_patients']['accuracy']}, minus shipped "
                    f"own {diff['difference']:+.3f} {diff['interval']}",
                    flush=True,
                )
        strip_list = [strips[r].astype(np.float64) for r in records[: args.strips]]
        angles: list[float] = []
        for name, draw in strip_renderers(rng, angles).items() if strip_list else ():
            del angles[:]
            rows, turned = [], []
            for t in strip_list:
                row, d = run_image(draw(t), t)
                rows.append(row)
                turned.append(d.rotation_deg if d is not None else np.nan)
            entry = summarise(rows, 8.0 if name.startswith("paper") else None)
            if angles:
                # The digitiser turns back by the drawn angle: their sum is its error.
                err = np.abs(np.array(turned) + np.array(angles))
                entry["rotation_error_deg_median"] = float(np.nanmedian(err))
                entry["rotation_error_deg_max"] = float(np.nanmax(err))
            block["renderers"]["strip_" + name] = entry
            print(split, "strip", name, entry["median_corr"], flush=True)
        result["splits"][split] = block

    if bundle is not None and "DS1_validation" in result["splits"]:
        result["amplitude_prior_selection"] = select_prior(result["splits"]["DS1_validation"])
        print("amplitude prior selection:", result["amplitude_prior_selection"], flush=True)
    if scalefree is not None and "DS1_validation" in result["splits"]:
        result["scalefree_selection"] = select_scalefree(result["splits"]["DS1_validation"])
        print("scale-free selection:", result["scalefree_selection"], flush=True)
    if len(ptp_train):
        result["assumed_beat_ptp_mv_from_DS1_train"] = float(np.median(ptp_train))
    result["assumed_beat_ptp_mv_in_library"] = ASSUMED_BEAT_PTP_MV

    non_ecg = non_ecg_makers(np.random.default_rng(7))
    refusal = {}
    for kind, make in non_ecg.items():
        if args.non_ecg <= 0:
            break
        statuses, times = [], []
        for _ in range(args.non_ecg):
            image = make()
            t0 = time.perf_counter()
            statuses.append(check_ecg_image(image).status)
            times.append(1000 * (time.perf_counter() - t0))
        refusal[kind] = {
            "images": len(statuses),
            "refused_no_trace": float(np.mean([s == "no_trace" for s in statuses])),
            "flagged_unlike_ecg": float(np.mean([s == "unlike_ecg" for s in statuses])),
            "refused_or_flagged": float(np.mean([s != "ecg" for s in statuses])),
            "time_ms_p50": float(np.median(times)),
        }
    everything = [v["refused_or_flagged"] * v["images"] for v in refusal.values()]
    result["non_ecg"] = {
        "kinds": refusal,
        "refused_or_flagged_overall": float(
            sum(everything) / max(sum(v["images"] for v in refusal.values()), 1)
        ),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", args.out, "non-ECG refused or flagged:", result["non_ecg"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a model attends to, per class, on its test set: average Grad-CAM maps (no Django).

For each class, up to ``max_per_class`` annotated test beats are drawn at random, fed to the
model exactly as in serving (``ModelBundle.beat_inputs``), and explained for their TRUE class.
The average image, the average heat map and the share of heat in three parts of the beat window
(before the QRS complex -- where the P wave lies --, the QRS complex, after it -- ST segment and
T wave) are written to ``models/<name>.gradcam.png`` and ``models/<name>.gradcam.json``;
``models/EXPLAIN.md`` is rebuilt from every ``*.gradcam.json`` present.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecg.classes import DS2_RECORDS, label_set
from ecg.features.beats import beat_annotations, labels_for
from ecg.imaging.representations import SPECTROGRAM_DEFAULTS
from ecg.io.records import load_record
from ecg.models import explain
from ecg.models.bundle import ModelBundle

# Beat window parts, in seconds relative to the R peak: the QRS complex lasts up to ~120 ms
# (longer in bundle branch blocks), the P wave ends ~80 ms before the R peak.
QRS_HALF_WIDTH_S = 0.08
BATCH = 256


@dataclass
class ClassAverage:
    code: str
    name: str
    count: int  # beats explained
    correct: float  # share of those beats the model classified correctly
    heat_before_qrs: float  # share of the average heat map's mass in each part of the window
    heat_qrs: float
    heat_after_qrs: float
    peak_ms: float | None  # time of the heat maximum relative to the R peak (ms)


def test_records(bundle: ModelBundle) -> tuple[list[str], str]:
    """The records to explain the model on, and how far they are unseen by it."""
    training = bundle.metadata.get("training") or {}
    for key in ("test_records", "eval_records"):
        if training.get(key):
            return [str(r) for r in training[key]], "the model's own test records"
    if training.get("split") == "intra":
        return list(DS2_RECORDS), (
            "DS2 records; NOT unseen patients: this model was trained on random beats of all "
            "records"
        )
    return list(DS2_RECORDS), "DS2 records (patients held out of the inter-patient training)"


def column_times(metadata: dict[str, Any]) -> np.ndarray:
    """Seconds (relative to the R peak) that each image column stands for."""
    size = int(metadata["image_size"])
    pre_s, post_s = float(metadata["window"]["pre_s"]), float(metadata["window"]["post_s"])
    rep = metadata["representation"]
    if rep["kind"] == "spectrogram":
        # STFT frames are centred half a segment in from each end of the window.
        half = float({**SPECTROGRAM_DEFAULTS, **(rep.get("params") or {})}["segment_s"]) / 2
        start, stop = half, pre_s + post_s - half
    else:
        start, stop = 0.0, pre_s + post_s
    return np.linspace(start, stop, size) - pre_s


def _window_parts(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column masks: before the QRS complex, on it, after it."""
    return (
        times < -QRS_HALF_WIDTH_S,
        np.abs(times) <= QRS_HALF_WIDTH_S,
        times > QRS_HALF_WIDTH_S,
    )


def _sample_beats(
    bundle: ModelBundle, data_dir: Path, records: list[str], max_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Images, RR features and class indices (in the bundle's class order) of sampled beats."""
    codes = [c.code for c in label_set(bundle.metadata["label_set"])]
    to_bundle = np.array([bundle.classes.index(c) if c in bundle.classes else -1 for c in codes])
    images, rrs, labels = [], [], []
    for name in records:
        record = load_record(data_dir, name)
        peaks, symbols = beat_annotations(record.ann_samples, record.ann_symbols)
        kept, rec_images, rec_rr = bundle.beat_inputs(record.signal, record.fs, peaks)
        indices = labels_for(symbols[kept], bundle.metadata["label_set"])
        rec_labels = np.where(indices >= 0, to_bundle[np.maximum(indices, 0)], -1)
        useful = rec_labels >= 0
        images.append(rec_images[useful])
        labels.append(rec_labels[useful])
        if rec_rr is not None:
            rrs.append(rec_rr[useful])
    all_labels = np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [
            rng.permutation(np.flatnonzero(all_labels == k))[:max_per_class]
            for k in range(len(bundle.classes))
        ]
    ).astype(np.int64)
    all_images = np.concatenate(images)[chosen]
    all_rr = np.concatenate(rrs)[chosen] if rrs else None
    return all_images, all_rr, all_labels[chosen]


def class_averages(
    bundle: ModelBundle,
    data_dir: Path,
    *,
    records: list[str] | None = None,
    max_per_class: int = 300,
    seed: int = 0,
) -> tuple[list[ClassAverage], np.ndarray, np.ndarray]:
    """Per-class summaries plus average images and heat maps, each (n_classes, H, W)."""
    images, rr, labels = _sample_beats(
        bundle, data_dir, records or test_records(bundle)[0], max_per_class, seed
    )
    size = bundle.image_size
    n_classes = len(bundle.classes)
    heat_sum = np.zeros((n_classes, size, size))
    image_sum = np.zeros((n_classes, size, size))
    correct = np.zeros(n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    for start in range(0, len(images), BATCH):
        part = slice(start, start + BATCH)
        batch_rr = rr[part] if rr is not None else None
        heat, _ = explain.bundle_grad_cam(
            bundle, images[part], rr=batch_rr, class_index=labels[part]
        )
        predicted = np.argmax(bundle.predict_proba(images[part], batch_rr), axis=1)
        np.add.at(heat_sum, labels[part], heat)
        np.add.at(image_sum, labels[part], images[part])
        np.add.at(correct, labels[part], predicted == labels[part])
    divisor = np.maximum(counts, 1)[:, None, None]
    mean_heat, mean_image = heat_sum / divisor, image_sum / divisor
    times = column_times(bundle.metadata)
    parts = _window_parts(times)
    names = {c.code: c.name for c in label_set(bundle.metadata["label_set"])}
    summaries = []
    for k, code in enumerate(bundle.classes):
        profile = mean_heat[k].sum(axis=0)  # heat per column (time)
        total = profile.sum()
        shares = [float(profile[p].sum() / total) if total > 0 else 0.0 for p in parts]
        summaries.append(
            ClassAverage(
                code=code,
                name=names.get(code, code),
                count=int(counts[k]),
                correct=float(correct[k] / counts[k]) if counts[k] else 0.0,
                heat_before_qrs=round(shares[0], 3),
                heat_qrs=round(shares[1], 3),
                heat_after_qrs=round(shares[2], 3),
                peak_ms=round(float(times[np.argmax(profile)] * 1000), 1) if total > 0 else None,
            )
        )
    return summaries, mean_image, mean_heat


def figure_png(
    summaries: list[ClassAverage], mean_image: np.ndarray, mean_heat: np.ndarray, title: str
) -> bytes:
    """One column per class: average input image above, average heat map over it below."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = len(summaries)
    fig = Figure(figsize=(2.0 * n, 4.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, n, squeeze=False)
    for k, summary in enumerate(summaries):
        image = np.clip(mean_image[k], 0, 255).astype(np.uint8)
        axes[0, k].imshow(image, cmap="gray", vmin=0, vmax=255)
        axes[0, k].set_title(f"{summary.code}  n={summary.count}", fontsize=9)
        scaled = mean_heat[k] / mean_heat[k].max() if mean_heat[k].max() > 0 else mean_heat[k]
        axes[1, k].imshow(explain.overlay(image, scaled, scale=1))
        axes[1, k].set_title(f"QRS {summary.heat_qrs:.0%} of heat", fontsize=8)
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_model_explanation(
    bundle: ModelBundle, out_dir: Path, data_dir: Path, **options: Any
) -> tuple[Path, Path]:
    """Write ``<name>.gradcam.png`` and ``<name>.gradcam.json`` into ``out_dir``."""
    default_records, basis = test_records(bundle)
    records = options.pop("records", None)
    if records:
        basis = "records chosen on the command line"
    records = records or default_records
    summaries, mean_image, mean_heat = class_averages(bundle, data_dir, records=records, **options)
    title = f"{bundle.name} v{bundle.version}: average Grad-CAM per true class"
    png = out_dir / f"{bundle.name}.gradcam.png"
    png.write_bytes(figure_png(summaries, mean_image, mean_heat, title))
    summary_path = out_dir / f"{bundle.name}.gradcam.json"
    times = column_times(bundle.metadata)
    uniform = [float(np.mean(part)) for part in _window_parts(times)]
    summary = {
        "model": bundle.name,
        "version": bundle.version,
        "representation": bundle.kind,
        "inputs": list(bundle.metadata["inputs"]),
        "records": records,
        "records_basis": basis,
        "qrs_half_width_ms": QRS_HALF_WIDTH_S * 1000,
        "window_ms": [
            -bundle.metadata["window"]["pre_s"] * 1000,
            bundle.metadata["window"]["post_s"] * 1000,
        ],
        "uniform_map_shares": [round(u, 3) for u in uniform],  # before, on, after the QRS
        "classes": [asdict(s) for s in summaries],
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return png, summary_path


def explain_markdown(models_dir: Path) -> str:
    """``EXPLAIN.md`` text built from every ``<name>.gradcam.json`` in ``models_dir``."""
    lines = [
        "# What the models attend to (Grad-CAM)",
        "",
        "Written by `python manage.py explain_model`; do not edit by hand. For each class, "
        "annotated beats of test records (which ones, and whether the model saw them, is said "
        "under each model) are explained for their true class with Grad-CAM on the last "
        "convolutional layer, and the maps are averaged. The table gives the share "
        f"of the average map's heat before the QRS complex (P wave region, earlier than "
        f"-{QRS_HALF_WIDTH_S * 1000:.0f} ms), on it (within ±{QRS_HALF_WIDTH_S * 1000:.0f} ms "
        "of the R peak) and after it (ST segment, T wave), and where the heat peaks. The window "
        "is longer after the R peak than before it, so even a map with no preference puts most "
        "heat after the QRS complex: compare each class with the last row of its table.",
        "",
        explain.READING_NOTE,
        "",
    ]
    summaries = sorted(models_dir.glob("*.gradcam.json"))
    if not summaries:
        lines.append("No model has been explained yet.")
    for path in summaries:
        data = json.loads(path.read_text())
        lines += [
            f"## {data['model']} (v{data['version']}, {data['representation']})",
            "",
            f"![average Grad-CAM per class]({data['model']}.gradcam.png)",
            "",
            f"Beats from records {', '.join(data['records'])} "
            f"({data.get('records_basis', 'test records')}).",
            "",
        ]
        if "rr" in data.get("inputs", []):
            lines += [
                "This model also reads six RR-interval (rhythm) features; the heat map shows only "
                "what it drew from the image, not how much the rhythm decided.",
                "",
            ]
        lines += [
            "| class | beats | correct | before QRS | QRS | after QRS | heat peak (ms) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for c in data["classes"]:
            peak = "-" if c["peak_ms"] is None else f"{c['peak_ms']:+.0f}"
            lines.append(
                f"| {c['code']} {c['name']} | {c['count']} | {c['correct']:.1%} | "
                f"{c['heat_before_qrs']:.0%} | {c['heat_qrs']:.0%} | {c['heat_after_qrs']:.0%} "
                f"| {peak} |"
            )
        if "uniform_map_shares" in data:
            before, on, after = data["uniform_map_shares"]
            lines.append(
                f"| *a map with no preference, for comparison* | | | {before:.0%} | {on:.0%} "
                f"| {after:.0%} | |"
            )
        lines.append("")
    return "\n".join(lines)

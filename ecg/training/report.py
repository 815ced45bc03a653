"""Writing evaluation results: ``models/<name>.metrics.json``, confusion-matrix PNGs,
``models/REPORT.md`` and the generated "Model performance" block of the README.

Everything here formats numbers that evaluation code computed; nothing is typed in by hand.

Long on purpose: every written figure (JSON, PNG, REPORT.md, docs) comes from here, so all agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

# The lab notes (how the models were chosen, what was tried and not shipped) are written by
# hand in this document; REPORT.md, generated next to it in models/, only links to it.
MODEL_SELECTION_DOC = "docs/model-selection.md"
README_START = "<!-- metrics:start -->"
README_END = "<!-- metrics:end -->"

TARGETS = {
    "intra_accuracy": 0.993,
    "intra_macro_f1": 0.97,
    "inter_macro_f1": 0.70,
    "VEB_Se": 0.90,
    "VEB_+P": 0.90,
    "SVEB_Se": 0.75,
    "SVEB_+P": 0.50,
    "batch_beats_per_s": 2000,
    "single_image_ms": 20,
    "pipeline_minutes": 45,
}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def plot_confusion(cm: list[list[int]], classes: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm_arr = np.asarray(cm, dtype=float)
    rows = cm_arr.sum(axis=1, keepdims=True)
    share = np.divide(cm_arr, rows, out=np.zeros_like(cm_arr), where=rows > 0)
    fig, ax = plt.subplots(figsize=(4.6, 4.0), dpi=100)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    for i in range(len(classes)):
        for j in range(len(classes)):
            colour = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, int(cm_arr[i, j]), ha="center", va="center", fontsize=7, color=colour)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})  # no timestamps: reruns give the same file
    plt.close(fig)


def _f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _in_interval(value: str, interval: list[float] | None, fmt=_f) -> str:
    """``value`` followed by its 95% interval, where the metrics file has one."""
    return value if not interval else f"{value} ({fmt(interval[0])}-{fmt(interval[1])})"


def _interval_of(summary: dict[str, Any], key: str) -> list[float] | None:
    return (summary.get("bootstrap") or {}).get(key)


def _aami_interval(aami: dict[str, Any], code: str, measure: str) -> list[float] | None:
    """The interval over resampled DS2 records of one AAMI figure (``Se`` or ``+P``), as EC57
    counts it (``bootstrap.ec57``; a file scored before it had only the per-class one)."""
    boot = aami.get("bootstrap") or {}
    if "ec57" in boot:
        return boot["ec57"].get(code, {}).get(measure)
    name = "sensitivity" if measure == "Se" else "precision"
    return boot.get("per_class", {}).get(code, {}).get(name)


def _aami_cell(aami: dict[str, Any], code: str, measure: str) -> str:
    """One AAMI figure with its interval."""
    value = aami["summary"][code][measure]
    return _in_interval(_pct(value), _aami_interval(aami, code, measure), _pct)


def baseline_difference(ours: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any] | None:
    """Macro-F1 of a model minus the baseline's on the same resampled test records (paired),
    when both metrics files hold per-record confusion matrices of the same records."""
    from ecg.training.metrics import bootstrap_difference

    a, b = ours.get("per_record_confusion"), baseline.get("per_record_confusion")
    if not a or not b or sorted(a) != sorted(b):
        return None
    return bootstrap_difference(a, b, "macro_f1")


def _validation_line(metrics: dict[str, Any]) -> list[str]:
    check = metrics.get("validation_check")
    if not check or check.get("recorded_at_training") is None:
        return []
    return [
        "",
        f"Validation macro-F1 recomputed here {check['recomputed_here']:.4f} "
        f"(recorded at training: {check['recorded_at_training']:.4f}).",
    ]


def two_lead_lines(inputs: dict[str, Any] | None) -> list[str]:
    """How a two-channel model's beats were read (``two_lead_eval.TwoLeadScorer``), or []."""
    if not inputs:
        return []
    by_lead: dict[str, list[str]] = {}
    for record, lead in inputs["second_lead"].items():
        by_lead.setdefault(lead or "none (the primary lead twice)", []).append(record)
    leads = "; ".join(
        f"{lead}: {len(names)} records" + (f" ({', '.join(names)})" if len(names) <= 4 else "")
        for lead, names in sorted(by_lead.items(), key=lambda kv: -len(kv[1]))
    )
    screened = sum(inputs["screened_beats"].values())
    return [
        f"Two channels (issue 17; not the served default, reported only): each beat read on the "
        f"primary lead and the second lead the app picks (second lead {leads}); "
        f"{screened:,} beats failed the second lead's screen and were read on the primary twice. "
        f"Path: {inputs['path']}. The app's whole path on the same records (detection, quality, "
        "uncertain states): `benchmarks/results/two_lead_serving.json`.",
        "",
    ]


def per_class_table(metrics: dict[str, Any]) -> list[str]:
    six = metrics["six_class"]
    lines = [
        "| class | support | sensitivity | precision | specificity | F1 | AUC (one-vs-rest) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for code in six["classes"]:
        c = six["per_class"][code]
        auc = six["auc_ovr"]["per_class"].get(code)
        lines.append(
            f"| {code} | {c['support']} | {_f(c['sensitivity'])} | {_f(c['precision'])} | "
            f"{_f(c['specificity'])} | {_f(c['f1'])} | {_f(auc)} |"
        )
    return lines


def target_rows(
    shipped: dict[str, dict[str, Any]],
    recording: str,
    context: dict[str, Any] | None = None,
    baseline: str = "original_cnn",
) -> list[str]:
    rec = shipped[recording]["splits"]
    lines = [
        "| target | required | recording model (95% interval over test records) | met |",
        "|---|---:|---:|:---:|",
    ]

    def row(
        label: str,
        required: float,
        got: float | None,
        higher: bool = True,
        fmt=_pct,
        interval: list[float] | None = None,
    ):
        met = got is not None and (got >= required if higher else got <= required)
        shown_req = fmt(required) if fmt is _pct else str(required)
        shown = _in_interval(fmt(got), interval, fmt)
        lines.append(f"| {label} | {shown_req} | {shown} | {'yes' if met else 'no'} |")

    def not_evaluated(label: str, required: str, why: str) -> None:
        lines.append(f"| {label} | {required} | not evaluated: {why} | — |")

    intra = rec.get("intra", {}).get("six_class", {})
    inter = rec["inter"]
    six = inter["six_class"]
    if not intra and inter.get("validation_check", {}).get("validated_on"):
        # trained on MIT-BIH + PTB-XL: there is no twin trained on MIT-BIH's random beats
        why = "a mixed-data model has no random-beat twin (the MIT-BIH-only models' rows below)"
        not_evaluated("intra-patient accuracy", _pct(TARGETS["intra_accuracy"]), why)
        not_evaluated("intra-patient macro-F1", str(TARGETS["intra_macro_f1"]), why)
    else:
        row(
            "intra-patient accuracy",
            TARGETS["intra_accuracy"],
            intra.get("accuracy"),
            interval=_interval_of(intra, "accuracy"),
        )
        row(
            "intra-patient macro-F1",
            TARGETS["intra_macro_f1"],
            intra.get("macro_f1"),
            fmt=_f,
            interval=_interval_of(intra, "macro_f1"),
        )
    row(
        "inter-patient macro-F1",
        TARGETS["inter_macro_f1"],
        six["macro_f1"],
        fmt=_f,
        interval=_interval_of(six, "macro_f1"),
    )
    aami = inter["aami"]
    for code in ("VEB", "SVEB"):
        for measure in ("Se", "+P"):
            got = aami["summary"][code][measure]
            interval = _aami_interval(aami, code, measure)
            row(f"AAMI {code} {measure}", TARGETS[f"{code}_{measure}"], got, interval=interval)
    speed = shipped[recording].get("speed") or {}
    if not speed and inter.get("two_lead_inputs"):
        # measure_speed times one-lead calls; the two-lead path is timed by its benchmark
        why = "a two-channel model: benchmarks/recording_benchmark.py --model times it"
        not_evaluated("batch beats/s (images built)", str(TARGETS["batch_beats_per_s"]), why)
        not_evaluated("single image, ms", str(TARGETS["single_image_ms"]), why)
    else:
        row(
            "batch beats/s (images built)",
            TARGETS["batch_beats_per_s"],
            speed.get("batch_beats_per_s"),
            fmt=lambda v: "—" if v is None else f"{v:.0f}",
        )
        row(
            "single image, ms",
            TARGETS["single_image_ms"],
            speed.get("single_image_ms_median"),
            higher=False,
            fmt=lambda v: "—" if v is None else f"{v:.1f}",
        )
    if context is not None:
        seconds = pipeline_seconds(shipped, context, baseline)["shipped"]
        row(
            "pipeline minutes (beat table, shipped models' training, evaluation)",
            TARGETS["pipeline_minutes"],
            None if seconds is None else seconds / 60.0,
            higher=False,
            fmt=lambda v: "—" if v is None else f"{v:.1f}",
        )
    return lines


def comparison_rows(all_metrics: dict[str, dict[str, Any]], baseline: str) -> list[str]:
    lines = [
        "| model | split | accuracy | macro-F1 | ECE | macro AUC | original CNN macro-F1 "
        "| macro-F1 minus the original CNN's | beats the original CNN |",
        "|---|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    base = all_metrics.get(baseline, {}).get("splits", {})
    for name, data in all_metrics.items():
        for split in ("intra", "inter"):
            m = data["splits"].get(split)
            if not m:
                continue
            six = m["six_class"]
            b = base.get(split, {}).get("six_class", {})
            if name == baseline:
                verdict = "(baseline)"
            elif not b:
                verdict = "not measured"
            else:
                better = six["macro_f1"] > b["macro_f1"] and six["accuracy"] > b["accuracy"]
                verdict = "yes" if better else "**no**"
            gap = baseline_difference(six, b) if b and name != baseline else None
            if verdict == "yes" and gap and gap["interval"] and gap["interval"][0] <= 0:
                verdict = "yes, not clearly (interval includes 0)"
            gap_cell = (
                f"{gap['difference']:+.3f} ({_f(gap['interval'][0])} to "
                f"{_f(gap['interval'][1])}; ahead in {100 * gap['share_ahead']:.0f}%)"
                if gap and gap["interval"]
                else "—"
            )
            lines.append(
                f"| {name} | {split} | {_pct(six['accuracy'])} | "
                f"{_in_interval(_f(six['macro_f1']), _interval_of(six, 'macro_f1'))} | "
                f"{_f(six['ece'])} | {_f(six['auc_ovr']['macro'])} | {_f(b.get('macro_f1'))} | "
                f"{gap_cell} | {verdict} |"
            )
    return lines


def write_report(
    models_dir: Path,
    all_metrics: dict[str, dict[str, Any]],
    *,
    recording: str,
    baseline: str,
    context: dict[str, Any],
) -> Path:
    out = [
        "# Model report",
        "",
        "Generated by `python manage.py evaluate_model` from the `*.metrics.json` files in this "
        "folder; do not edit by hand. What the models attend to (average Grad-CAM heat maps "
        "per class) is in [EXPLAIN.md](EXPLAIN.md), written by `python manage.py explain_model`.",
        "",
        f"- Data: MIT-BIH Arrhythmia Database, lead {context.get('lead', 'MLII')}, "
        f"{context.get('n_beats', '?')} annotated beats of {context.get('n_records', '?')} "
        "records (paced records 102, 104, 107, 217 excluded).",
        "- Beat window: 0.25 s before to 0.45 s after the reference R peak, after resampling to "
        "360 Hz and a 0.5-40 Hz zero-phase band-pass.",
        "- Classes: L, N, A, V, R, ! (six-class product). **Class `!` (ventricular flutter "
        "waves) exists only in record 207, which is in DS1: DS2 has no `!` beats**, so "
        "inter-patient figures cannot measure `!` (its row shows support 0; a `!` prediction "
        "on DS2 counts as an error). Macro-F1 averages the classes present in each test set.",
        "- Splits: **intra** = random beats stratified by class (70% train, 10% validation, 20% "
        "test, seed 0); **inter** = de Chazal 2004, trained on DS1 minus validation records "
        f"{', '.join(context.get('validation_records', []))} (held out by record), tested "
        "on every DS2 beat. Shipped weights are the inter-patient ones; the intra-patient "
        "column comes from the same model trained on the intra split (`models/intra/`), "
        f"{context.get('intra_training', '')}",
        "- AAMI EC57 figures: every annotated DS2 beat (including beats outside the six classes) "
        "with its reference AAMI class, against the AAMI class of the six-class prediction "
        "(L, N, R -> N; A -> SVEB; V, ! -> VEB; F and Q are never predicted), counted as "
        "EC57's reference comparator (PhysioNet's bxb) counts them: a false VEB is a reference "
        "N or SVEB beat called V (a fusion or unclassifiable beat called V is not one), a false "
        "SVEB a reference N, VEB or F beat called S (`ecg.training.aami`).",
        f"- Evaluated {context.get('evaluated_at', '')} with code {context.get('code_version')}.",
        "",
        "## Targets (recording model)",
        "",
        *target_rows(all_metrics, recording, context, baseline),
        "",
        *seed_spread_lines(context.get("seed_spread")),
        "",
        *external_lines(context.get("external")),
        *conduction_lines(context.get("conduction")),
        *served_lines(context.get("served")),
        "## All models against the original CNN (same beats, same splits, same run)",
        "",
        *comparison_rows(all_metrics, baseline),
        "",
        "AAMI inter-patient figures (DS2):",
        "",
        "| model | VEB Se | VEB +P | SVEB Se | SVEB +P |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, data in all_metrics.items():
        aami = data["splits"].get("inter", {}).get("aami")
        if aami:
            cells = [_aami_cell(aami, c, m) for c in ("VEB", "SVEB") for m in ("Se", "+P")]
            out.append(f"| {name} | {' | '.join(cells)} |")
    out += [
        "",
        "Figures in brackets are 95% intervals from a percentile bootstrap over whole test "
        "records (1,000 record sets drawn with replacement from the test records, seed 0; "
        "`metrics.bootstrap_intervals`): the patient, not the beat, is what changes from one "
        "test set to the next, and on DS2 one record can hold most of a class's beats (record "
        "232: three quarters of the SVEB beats). The difference from the original CNN is paired: "
        "both models on the same drawn record sets (`metrics.bootstrap_difference`). With 22 "
        'DS2 records the inter-patient intervals are wide. "Beats the original CNN" compares '
        "the point figures (macro-F1 and accuracy both higher); where the paired interval of "
        'the macro-F1 difference includes 0 it says "not clearly".',
    ]
    out += ["", "## Per model", ""]
    for name, data in all_metrics.items():
        out += [f"### {name}", ""]
        out.append(
            f"Task `{data.get('task')}`, representation `{data.get('representation')}`, inputs "
            f"{', '.join(data.get('inputs', []))}, {data.get('parameters')} parameters, "
            f"{data.get('size_bytes', 0) / 1e6:.2f} MB."
        )
        stamp = data.get("evaluated") or {}
        if stamp and stamp.get("at") != context.get("evaluated_at"):
            out.append(f"Evaluated {stamp['at']} with code {stamp.get('code_version')}.")
        speed = data.get("speed")
        if speed:
            out.append(
                f"Speed ({context.get('machine', 'this machine')}): "
                f"{speed['batch_beats_per_s']:.0f} beats/s for a whole recording (signal "
                f"preparation and images included, {speed['batch_beats']} beats), "
                f"{speed['single_image_ms_median']:.1f} ms per single image (median)."
            )
        for split in ("intra", "inter"):
            m = data["splits"].get(split)
            if not m:
                continue
            train = m.get("training", {})
            out += [
                "",
                f"**{split}-patient**: {m['split_description']}. Accuracy "
                f"{_pct(m['six_class']['accuracy'])}, macro-F1 {_f(m['six_class']['macro_f1'])}, "
                f"ECE {_f(m['six_class']['ece'])}, {m['six_class']['n_beats']} test beats. "
                f"{_training_sentence(train)}",
                "",
                *two_lead_lines(m.get("two_lead_inputs")),
                *per_class_table(m),
                *_validation_line(m),
                "",
                f"![{name} {split} confusion matrix]({m['confusion_png']})",
            ]
        out.append("")
    if context.get("recording_choice"):
        out += ["## Choice of the recording model (inter-patient validation macro-F1)", ""]
        out += ["| candidate | validation macro-F1 |", "|---|---:|"]
        for cand, score in context["recording_choice"].items():
            out.append(f"| {cand} | {_f(score)} |")
        out += ["", f"Chosen: `{recording}`.", ""]
    out += ["## Time", ""]
    out += timing_lines(all_metrics, context, baseline) + [""]
    out += notes_lines()
    path = models_dir / "REPORT.md"
    path.write_text("\n".join(out).rstrip() + "\n")
    return path


def notes_lines() -> list[str]:
    """The closing "Notes" section of REPORT.md: a link to the hand-written lab notes and the
    experiments behind them (REPORT.md lives in models/, hence the ``..``)."""
    return [
        "## Notes",
        "",
        "How these models were chosen, what was tried and not shipped (with the figures of "
        "each experiment), the known weak points and where the models were trained: "
        f"[{MODEL_SELECTION_DOC}](../{MODEL_SELECTION_DOC}). The experiment scripts and their "
        "results files are in [experiments/](../experiments/README.md).",
    ]


def _validation_agreement(rows: list[dict[str, Any]]) -> str:
    """Whether validation macro-F1 ranked the seeds as DS2 did (Spearman's rho)."""
    from scipy.stats import spearmanr

    rho = float(
        spearmanr([r["validation_macro_f1"] for r in rows], [r["macro_f1"] for r in rows])[0]
    )
    verdict = (
        "ranked the seeds much as DS2 did" if rho >= 0.7 else "did not rank the seeds as DS2 did"
    )
    return f"Validation macro-F1 {verdict} (Spearman's rho {rho:+.2f})."


def macro_f1_range(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Seeds, mean, lowest and highest test macro-F1 of the seed-spread rows."""
    scores = [float(r["macro_f1"]) for r in rows]
    return {
        "n": len(scores),
        "mean": float(np.mean(scores)),
        "min": min(scores),
        "max": max(scores),
    }


# (label, key in the external file"s "ensemble" and "seed_summary", ">=" or "<=", bound,
# shown as a percentage?)
EXTERNAL_ROWS = (
    ("DS2 six-class macro-F1", "DS2 macro-F1", ">=", 0.75, False),
    ("DS2 L recall", "DS2 L Se", ">=", 0.8, False),
    ("DS2 R recall", "DS2 R Se", ">=", 0.8, False),
    ("DS2 VEB Se", "DS2 VEB Se", ">=", 0.93, True),
    ("DS2 VEB +P", "DS2 VEB +P", ">=", 0.9, True),
    ("DS2 SVEB Se", "DS2 SVEB Se", ">=", 0.75, True),
    ("DS2 SVEB +P", "DS2 SVEB +P", ">=", 0.5, True),
    ("PTB-XL fold 10, lead II: record F1 CLBBB", "fold 10 II record CLBBB F1", ">=", 0.9, False),
    ("PTB-XL fold 10, lead II: record F1 CRBBB", "fold 10 II record CRBBB F1", ">=", 0.9, False),
    ("PTB-XL fold 10, lead II: record F1 NORM", "fold 10 II record NORM F1", ">=", 0.9, False),
    ("PTB-XL fold 10, lead V1: record F1 CLBBB", "fold 10 V1 record CLBBB F1", ">=", 0.9, False),
    ("PTB-XL fold 10, lead V1: record F1 CRBBB", "fold 10 V1 record CRBBB F1", ">=", 0.9, False),
    ("PTB-XL fold 10, lead V1: record F1 NORM", "fold 10 V1 record NORM F1", ">=", 0.9, False),
    ("LUDB sinus, no BBB: beats called L or R", "LUDB sinus no BBB L+R share", "<=", 0.02, True),
    ("LUDB sinus, no BBB: beats called V", "LUDB sinus no BBB V share", "<=", 0.01, True),
)


def stale_lines(sidecar: dict[str, Any], script: str) -> list[str]:
    """What a report section says instead of a sidecar's figures measured on another version of
    the recording model."""
    return [
        f"The figures in `{sidecar['path']}` were measured on another version of the "
        f"recording model; run `python {script}` again.",
        "",
    ]


def target_cells(op: str, bound: float, pct: bool, value: float) -> tuple[str, str]:
    """An ``EXTERNAL_ROWS`` target as the tables write it, and whether ``value`` meets it."""
    target = f"{op} {bound:.0%}" if pct else f"{op} {bound:.2f}"
    met = value >= bound if op == ">=" else value <= bound
    return target, "yes" if met else "no"


def external_lines(external: dict[str, Any] | None) -> list[str]:
    """The recording model on the other test sets (PTB-XL fold 10, LUDB) beside DS2, from the
    mixed-training evaluation of the same weights (``models/<recording>.external.json``)."""
    if not external:
        return []
    if external.get("stale"):
        return stale_lines(external, "benchmarks/ptbxl_mixed_ship.py")
    out = [
        "## The recording model on every test set",
        "",
        f"From `{external['source']}` ({external['about']}); nothing was chosen on them. "
        "Seed mean (SD) over the ensemble's members beside the ensemble itself.",
        "",
        "| figure | target | shipped ensemble | members: mean (SD) [min-max] | met |",
        "|---|---|---:|---:|---|",
    ]
    for label, key, op, bound, pct in EXTERNAL_ROWS:
        value = external["ensemble"].get(key)
        spread = external.get("seed_summary", {}).get(key) or {}
        if value is None:
            continue
        show = _pct if pct else _f
        members = (
            f"{show(spread['mean'])} ({show(spread['sd'])}) "
            f"[{show(spread['min'])}-{show(spread['max'])}]"
            if spread.get("mean") is not None
            else "—"
        )
        target, met = target_cells(op, bound, pct, value)
        out.append(f"| {label} | {target} | {show(value)} | {members} | {met} |")
    return [*out, ""]


def served_lines(served: dict[str, Any] | None) -> list[str]:
    """The test figures with the probabilities as the app serves them (the model's class prior
    and temperature) beside the network's own (``models/<recording>.served.json``,
    ``benchmarks/served_classifier_test.py``)."""
    if not served:
        return []
    if served.get("stale"):
        return stale_lines(served, "benchmarks/served_classifier_test.py")
    calibration = served.get("calibration") or {}
    prior = calibration.get("class_prior") or {}
    out = [
        "## The recording model as served (class prior and temperature)",
        "",
        f"From `{served['source']}` ({served['about']}). The app serves the network's "
        f"probabilities times each class's share of the MIT-BIH training beats to the power "
        f"{prior.get('tau', 0)} (the network learnt from balanced classes), then temperature "
        f"{calibration.get('temperature')}; the prior's weight was chosen on cross-fitted DS1 "
        "(`benchmarks/prior_shift_ds1.py`). The tables above are the network's own argmax.",
        "",
        "| figure | target | network alone | as served | met as served |",
        "|---|---|---:|---:|---|",
    ]
    network, shown = served["headline"]["network"], served["headline"]["served"]
    for label, key, op, bound, pct in EXTERNAL_ROWS:
        if shown.get(key) is None:
            continue
        show = _pct if pct else _f
        target, met = target_cells(op, bound, pct, shown[key])
        out.append(
            f"| {label} | {target} | {show(network.get(key))} | {show(shown[key])} | {met} |"
        )
    return [*out, ""]


def conduction_lines(found: dict[str, Any] | None) -> list[str]:
    """The recording's conduction finding as served, on PTB-XL fold 10
    (``models/<recording>.conduction.json``, ``benchmarks/conduction_served_ptbxl.py``)."""
    if not found:
        return []
    if found.get("stale"):
        return stale_lines(found, "benchmarks/conduction_served_ptbxl.py")
    out = [
        "## The recording's conduction finding (PTB-XL fold 10, as served)",
        "",
        f"From `{found['source']}` ({found['about']}). Record F1 with its 95% interval over "
        "patients; the rules were chosen on fold 9 (docs/model-selection.md).",
        "",
        "| figure | target | served | 95% interval | met |",
        "|---|---|---:|---:|---|",
    ]
    for variant, figures in found["figures"].items():
        for code, statement in (("L", "CLBBB"), ("R", "CRBBB"), ("N", "NORM")):
            f = figures[code]
            low, high = f.get("F1_interval") or (None, None)
            met = "yes" if f["F1"] >= 0.9 else "no"
            out.append(f"| {variant}: record F1 {statement} | >= 0.90 | {_f(f['F1'])} | "
                       f"{_f(low)}-{_f(high)} | {met} |")  # fmt: skip
    return [*out, ""]


def seed_spread_lines(spread: dict[str, Any] | None, *, table: bool = True) -> list[str]:
    """How the recording model's DS2 figures move with the training seed
    (``experiments/ml_seed_spread.py``): a sentence, and with ``table`` one row per seed."""
    if not spread:
        return []
    if spread.get("stale"):
        return [
            f"The seed-spread figures in `{spread['path']}` were measured on another version of "
            f"`{spread['model']}`; run `python experiments/ml_seed_spread.py` again.",
        ]
    rows = spread["seeds"]
    scores = macro_f1_range(rows)
    shipped = next((r for r in rows if r["seed"] == spread.get("shipped_seed")), None)
    sentence = (
        f"The same configuration trained again with {len(rows)} seeds (same data, split and "
        "checkpoint rule; `experiments/ml_seed_spread.py`) scored DS2 macro-F1 "
        f"{scores['mean']:.3f} on average (from {scores['min']:.3f} to {scores['max']:.3f})"
        + (
            f"; the shipped model is seed {shipped['seed']} ({shipped['macro_f1']:.3f})."
            if shipped
            else "; none of them reproduced the shipped model's figures."
        )
        + f" {_validation_agreement(rows)}"
    )
    if not table:
        return [sentence]
    out = [
        sentence,
        "",
        "| seed | validation macro-F1 | DS2 macro-F1 | VEB Se | VEB +P | SVEB Se | SVEB +P |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    figures = ("VEB Se", "VEB +P", "SVEB Se", "SVEB +P")
    for r in rows:
        aami = " | ".join(_pct(r[k]) for k in figures)
        out.append(
            f"| {r['seed']} | {_f(r['validation_macro_f1'])} | {_f(r['macro_f1'])} | {aami} |"
        )
    means = " | ".join(_pct(float(np.mean([r[k] for r in rows]))) for k in figures)
    validation = float(np.mean([r["validation_macro_f1"] for r in rows]))
    out.append(f"| mean | {_f(validation)} | {_f(scores['mean'])} | {means} |")
    return out


def readme_block(
    all_metrics: dict[str, dict[str, Any]],
    baseline: str,
    *,
    recording: str | None = None,
    context: dict[str, Any] | None = None,
) -> str:
    """The generated block of docs/model-performance.md (with ``recording``: the targets too)."""
    lines = [
        README_START,
        "",
        "Generated from `models/*.metrics.json` by `python manage.py evaluate_model "
        "--update-docs`; full report with confusion matrices: `models/REPORT.md`.",
        "",
        "Macro-F1 in brackets: 95% interval over resampled test records (see the report).",
        "",
        "| model | task | split | accuracy | macro-F1 | VEB Se / +P | SVEB Se / +P |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for name, data in all_metrics.items():
        for split in ("intra", "inter"):
            m = data["splits"].get(split)
            if not m:
                continue
            six = m["six_class"]
            aami = m.get("aami", {}).get("summary")
            veb = f"{_pct(aami['VEB']['Se'])} / {_pct(aami['VEB']['+P'])}" if aami else "—"
            sveb = f"{_pct(aami['SVEB']['Se'])} / {_pct(aami['SVEB']['+P'])}" if aami else "—"
            task = "baseline" if name == baseline else data.get("task", "")
            lines.append(
                f"| {name} | {task} | {split} | {_pct(six['accuracy'])} | "
                f"{_in_interval(_f(six['macro_f1']), _interval_of(six, 'macro_f1'))} | "
                f"{veb} | {sveb} |"
            )
    if recording in all_metrics:
        lines += [
            "",
            f"The targets, for the recording model `{recording}` (details in the report):",
            "",
            *target_rows(all_metrics, recording, context, baseline),
        ]
        spread = seed_spread_lines((context or {}).get("seed_spread"), table=False)
        lines += ["", *spread] if spread else []
    lines += ["", README_END]
    return "\n".join(lines)


def update_readme(
    readme: Path, block: str, start: str = README_START, end: str = README_END
) -> bool:
    """Replace the text between the markers (kept); False if the markers are missing."""
    text = readme.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    if not block.startswith(start):
        block = f"{start}\n{block}\n{end}"
    readme.write_text(pattern.sub(lambda _: block, text))
    return True


TIMING_START = "<!-- timing:start -->"
TIMING_END = "<!-- timing:end -->"


def _training_sentence(train: dict[str, Any]) -> str:
    where = f" on {train['trained_on']}" if train.get("trained_on") else ""
    ensemble = train.get("ensemble")
    if ensemble:
        # the two-lead bundle records its seeds' figures beside the ensemble entry (issue 17)
        scores = ensemble.get("member_validation_macro_f1") or train.get(
            "best_validation_macro_f1_per_seed", [None] * len(ensemble["seeds"])
        )
        members = ", ".join(
            f"seed {seed}: {_f(score)}"
            for seed, score in zip(ensemble["seeds"], scores, strict=True)
        )
        ensemble_f1 = train.get("best_validation_macro_f1")
        sentence = (
            f"Ensemble of {len(ensemble['seeds'])} seeds of one configuration (probabilities "
            f"averaged in one model); members' validation macro-F1 {members}"
            + (f"; ensemble validation macro-F1 {_f(ensemble_f1)}." if ensemble_f1 else ".")
        )
        if train.get("train_seconds") is None:  # trained by a study script that kept no times
            return sentence
        return (
            f"{sentence} Members trained {train.get('epochs_run', '?')} epochs in all (best "
            f"epochs {train.get('best_epoch')}) in {train['train_seconds']} s{where}."
        )
    return (
        f"Trained {train.get('epochs_run', '?')} epochs (best {train.get('best_epoch')}, "
        f"validation macro-F1 {_f(train.get('best_validation_macro_f1'))}) in "
        f"{train.get('train_seconds', '?')} s{where}."
    )


def _training_steps(all_metrics: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict]]:
    """(model, split, training record) of every model trained on each split."""
    return [
        (name, split, data["splits"][split]["training"])
        for name, data in all_metrics.items()
        for split in ("inter", "intra")
        if data["splits"].get(split, {}).get("training", {}).get("train_seconds") is not None
    ]


def pipeline_seconds(
    all_metrics: dict[str, dict[str, Any]], context: dict[str, Any], baseline: str
) -> dict[str, float | None]:
    """The issue's pipeline time (beat table + training of the SHIPPED models + evaluation) and
    the whole run's (the baseline and the recording candidates not chosen added)."""
    if context.get("dataset_seconds") is None or context.get("evaluation_seconds") is None:
        return {"shipped": None, "whole_run": None}
    fixed = context["dataset_seconds"] + context["evaluation_seconds"]
    steps = _training_steps(all_metrics)
    shipped = sum(t["train_seconds"] for name, _, t in steps if name != baseline)
    trained = sum(t["train_seconds"] for _, _, t in steps) + context.get("candidate_seconds", 0.0)
    return {"shipped": fixed + shipped, "whole_run": fixed + trained}


def timing_lines(
    all_metrics: dict[str, dict[str, Any]], context: dict[str, Any], baseline: str = "original_cnn"
) -> list[str]:
    """Seconds per step, from the training records in the bundles and the evaluation run."""
    here = context.get("machine", "this machine")
    lines = ["| step | seconds |", "|---|---:|"]
    if context.get("dataset_seconds") is not None:
        seconds = context["dataset_seconds"]
        lines.append(f"| build the beat table, all records ({here}) | {seconds:.0f} |")
    total = 0.0
    for name, split, training in _training_steps(all_metrics):
        seconds = training["train_seconds"]
        total += seconds
        where = training.get("trained_on", here)
        lines.append(f"| train {name}, {split}-patient ({where}) | {seconds:.0f} |")
    extra = context.get("candidate_seconds", 0.0)
    if extra:
        total += extra
        lines.append(f"| train the recording candidates not chosen | {extra:.0f} |")
    lines.append(f"| **training in all** | **{total:.0f}** |")
    if context.get("evaluation_seconds") is not None:
        lines.append(
            f"| evaluate every model on both splits | {context['evaluation_seconds']:.0f} |"
        )
    times = pipeline_seconds(all_metrics, context, baseline)
    if times["shipped"] is not None:
        lines.append(
            "| **pipeline: beat table + training of the shipped models + evaluation** "
            f"(target {TARGETS['pipeline_minutes']} min) | **{times['shipped']:.0f}** |"
        )
        lines.append(
            f"| whole run: the same + the baseline ({baseline}) + the candidates not chosen "
            f"| {times['whole_run']:.0f} |"
        )
    return lines

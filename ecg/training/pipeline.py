"""The whole experiment: every model config on both splits, the baseline beside them, model
choice by inter-patient validation, shipping to ``models/`` and the written report.

Shipped weights are the inter-patient (DS1-trained) ones -- their test figures describe new
patients. The same configs trained on the intra-patient split go to ``models/intra/`` so
``evaluate_model`` can reproduce both columns of the report from the files alone.

Long on purpose: the one end-to-end path that builds, trains, ships and evaluates the models.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ecg.classes import class_codes
from ecg.dsp.signal import MODEL_FS
from ecg.features.context import feature_names
from ecg.imaging.representations import NORMALISED_PTP_MV
from ecg.models.bundle import channel_count, file_sha256, load_bundle, read_metadata, save_bundle
from ecg.models.registry import ModelRegistry
from ecg.training.dataset import (
    BeatTable,
    Split,
    build_beat_table,
    inter_patient_split,
    intra_patient_split,
    load_beat_table,
    save_beat_table,
)
from ecg.training.training import ModelConfig, assemble_ensemble, train

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Candidate:
    config: ModelConfig
    task: str  # "image" or "recording"
    # "beat_image" / "spectrogram" / "recording" (shipped slot), "beat_image_unknown_amplitude"
    # (digitised beats of assumed amplitude) or "baseline"
    role: str
    # this candidate's own changes on the intra-patient split, applied after INTRA_OVERRIDES
    intra: dict[str, Any] = field(default_factory=dict)


# Image-only models get a wider gain augmentation (0.6-1.6): a single uploaded image carries no
# rhythm, so robustness to the patient's amplitude is all they can add (validation macro-F1
# +0.01-0.03 in the comparison described in models/REPORT.md).
WIDE_GAIN = (0.6, 1.6)
# Image-only models on new patients: two seeds averaged in one model (seed-to-seed spread of
# validation macro-F1 is as large as any hyperparameter's effect; the mean is steadier). A third
# seed added 0.000 (beat image) and 0.007 (spectrogram) of validation macro-F1 for a third more
# training and inference time; three-seed ensembles measured 1,780-2,700 beats/s from one run
# to the next, too close to the 2,000 beats/s target (experiments/ml_settings_choice.py).
IMAGE_SEEDS = (0, 1)
# Image-only models on random beats (the same patients on both sides): only a narrow gain
# augmentation and three conv blocks before a wider dense layer (an 8x8 map keeps finer
# waveform position); one model unless the candidate asks for seeds.
IMAGE_INTRA: dict[str, Any] = {
    "filters": (8, 16, 32),
    "dense": 128,
    "gain": (0.9, 1.1),
    "ensemble_seeds": (),
}
RECORD_CONTEXT = "rr+record_context"
CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        ModelConfig("beat_image_cnn", "beat_image", gain=WIDE_GAIN, ensemble_seeds=IMAGE_SEEDS),
        "image",
        "beat_image",
        # one model: with every beat in every epoch, a second seed added 0.002 of validation
        # macro-F1 for eight more minutes, past the 45-minute pipeline (ml_settings_choice)
        intra=IMAGE_INTRA,
    ),
    # No white noise for spectra: on the fixed dB scale it lifts the whole background far above
    # the band-passed signals' floor, so the model would train on images serving never sees.
    Candidate(
        ModelConfig("spectrogram_cnn", "spectrogram", noise_mv=0.0, ensemble_seeds=IMAGE_SEEDS),
        "image",
        "spectrogram",
        intra=IMAGE_INTRA,
    ),
    Candidate(ModelConfig("recording_cnn_rr", "beat_image", use_rr=True), "recording", "recording"),
    Candidate(
        ModelConfig("recording_spec_rr", "spectrogram", use_rr=True, noise_mv=0.0),
        "recording",
        "recording",
    ),
    # The same two with each beat also described against its own recording (context.py): the
    # distance from the recording's median beat, QRS width against the recording's, RR over the
    # recording's median RR.
    Candidate(
        ModelConfig("recording_cnn_ctx", "beat_image", use_rr=True, rhythm_features=RECORD_CONTEXT),
        "recording",
        "recording",
    ),
    Candidate(
        ModelConfig(
            "recording_spec_ctx",
            "spectrogram",
            use_rr=True,
            rhythm_features=RECORD_CONTEXT,
            noise_mv=0.0,
        ),
        "recording",
        "recording",
    ),
    # The original project's CNN on the same beats and splits: no augmentation, no class
    # weights (as in the original), the same balanced epochs and callbacks.
    Candidate(
        ModelConfig(
            "original_cnn",
            "beat_image",
            architecture="baseline",
            augment=False,
            balanced_weights=False,
        ),
        "image",
        "baseline",
    ),
)
# The scale-free single-beat model (issue 19): the same configuration, but every window is
# scaled to one peak-to-peak amplitude before it is drawn (representations.beat_image,
# amplitude "normalised_ptp", stored in the metadata), so a beat whose amplitude is unknown
# -- a plot without a grid, digitised to an assumed amplitude -- reads as in training. Gain
# augmentation is a no-op there (the drawing undoes it); kept so the configs differ in one
# thing only. Served for digitised beats whose amplitude was assumed (role below) when
# installed. Not in CANDIDATES: DS1 validation did not choose it (docs/digitise.md), so the full
# pipeline does not train it; `train_model --only beat_image_scalefree` does (ON_REQUEST).
SCALE_FREE_BEAT = Candidate(
    ModelConfig(
        "beat_image_scalefree",
        "beat_image",
        params={"amplitude": "normalised_ptp", "ptp_mv": NORMALISED_PTP_MV},
        gain=WIDE_GAIN,
        ensemble_seeds=IMAGE_SEEDS,
    ),
    "image",
    "beat_image_unknown_amplitude",
    intra=IMAGE_INTRA,
)
# Candidates trained only when named (`train_model --only`), never by the full pipeline.
ON_REQUEST: tuple[Candidate, ...] = (SCALE_FREE_BEAT,)
BASELINE = "original_cnn"
# Random-beat training sees the test patients already, so over-fitting to patients is not the
# risk there; the test beats keep the natural class mix (three beats in four are N), so every
# epoch shows every training beat (rare classes still repeated up to the floor) and no class
# weights -- balanced epochs and weights made A and ! over-predicted at N's expense. Applied to
# every model on the intra-patient split, the original CNN included. Chosen on intra VALIDATION
# figures (experiments/ml_settings_choice.py).
INTRA_OVERRIDES: dict[str, Any] = {
    "cap": None,
    "balanced_weights": False,
    "max_epochs": 10,
    "patience": 4,
    "batch_size": 256,
}
INTRA_TRAINING = (
    "trained there on every training beat in every epoch (classes under "
    f"{ModelConfig.floor:,} beats repeated up to {ModelConfig.floor:,}), without class weights, "
    f"for up to {INTRA_OVERRIDES['max_epochs']} epochs -- the original CNN too; the image-only "
    "models are seed ensembles on the inter split and single models on the intra split."
)


def code_version() -> str:
    if os.environ.get("ECG_CODE_VERSION"):  # set where the code runs outside its git checkout
        return os.environ["ECG_CODE_VERSION"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def metadata_for(candidate: Candidate, record: dict[str, Any], table: BeatTable) -> dict[str, Any]:
    config = candidate.config
    return {
        "name": config.name,
        "version": "1.0",
        "classes": class_codes("six"),
        "label_set": "six",
        "representation": {"kind": config.representation, "params": config.image_params},
        "inputs": ["image", "rr"] if config.use_rr else ["image"],
        "rhythm_features": config.rhythm_features if config.use_rr else None,
        "rr_feature_names": list(feature_names(config.rhythm_features)) if config.use_rr else [],
        "image_size": config.image_size,
        "sampling_rate": MODEL_FS,
        "window": {"pre_s": config.pre_s, "post_s": config.post_s},
        "task": candidate.task,
        "lead": table.lead,
        "architecture": config.architecture,
        "training": record,
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code_version": code_version(),
    }


def get_table(
    data_dir: str | Path, cache: str | Path, records: list[str] | None, progress: Progress
) -> BeatTable:
    cache = Path(cache)
    if cache.is_file():
        progress(f"using cached beats {cache}")
        return load_beat_table(cache)
    table = build_beat_table(data_dir, records, progress=progress)
    save_beat_table(table, cache)
    progress(f"cached {len(table)} beats in {cache}")
    return table


def make_splits(table: BeatTable, seed: int = 0) -> dict[str, Split]:
    labels = table.labels("six")
    return {
        "intra": intra_patient_split(labels, seed=seed),
        "inter": inter_patient_split(table.records, labels),
    }


def train_all(
    table: BeatTable,
    runs_dir: str | Path,
    *,
    candidates: tuple[Candidate, ...] = CANDIDATES,
    splits: tuple[str, ...] = ("inter", "intra"),
    overrides: dict[str, Any] | None = None,
    skip_existing: bool = False,
    progress: Progress = print,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Train every candidate on every split into ``runs_dir/<split>/<name>.keras``
    (``skip_existing``: keep runs already saved there, e.g. after an interruption)."""
    runs_dir = Path(runs_dir)
    all_splits = make_splits(table)
    records: dict[str, dict[str, dict[str, Any]]] = {}
    for split_name in splits:
        split = all_splits[split_name]
        for candidate in candidates:
            split_overrides = (
                {**INTRA_OVERRIDES, **candidate.intra} if split_name == "intra" else {}
            )
            config = replace(candidate.config, **{**split_overrides, **(overrides or {})})
            if split_name == "intra" and candidate.role == "recording":
                # only the recording model chosen on inter-patient validation gets this column
                if config.name != choose_recording_model(runs_dir):
                    continue
            target = runs_dir / split_name / f"{config.name}.keras"
            if skip_existing and target.is_file():
                progress(f"keeping {target}")
                records.setdefault(split_name, {})[config.name] = json.loads(
                    target.with_suffix(".json").read_text()
                )["training"]
                continue
            progress(f"training {config.name} on the {split_name}-patient split")
            if config.ensemble_seeds:
                model, record = _train_ensemble(
                    candidate, config, table, split, runs_dir, skip_existing, progress
                )
            else:
                model, record = _train_one(config, table, split, runs_dir, progress)
            meta = metadata_for(replace(candidate, config=config), record, table)
            save_bundle(model, meta, target)
            records.setdefault(split_name, {})[config.name] = record
            progress(
                f"  done in {record['train_seconds']} s, best validation macro-F1 "
                f"{record['best_validation_macro_f1']:.4f} (epoch {record['best_epoch']})"
            )
    return records


def _train_one(
    config: ModelConfig, table: BeatTable, split: Split, runs_dir: Path, progress: Progress
) -> tuple[Any, dict[str, Any]]:
    """Train one model (checkpoints under ``runs_dir``); its record says where it ran."""
    labels = table.labels("six")
    model, record = train(
        config, table, split, labels, 6, work_dir=runs_dir / "checkpoints", progress=progress
    )
    record["trained_on"] = training_place()
    return model, record


def _train_ensemble(
    candidate: Candidate,
    config: ModelConfig,
    table: BeatTable,
    split: Split,
    runs_dir: Path,
    skip_existing: bool,
    progress: Progress,
) -> tuple[Any, dict[str, Any]]:
    """Train one member per seed (kept as bundles in ``<runs>/<split>/members/``, reused with
    ``skip_existing``) and average them into one model."""
    labels = table.labels("six")
    members, member_records = [], []
    for seed in config.ensemble_seeds:
        member_config = replace(config, seed=seed, ensemble_seeds=())
        target = runs_dir / split.name / "members" / f"{config.name}-s{seed}.keras"
        if skip_existing and target.is_file():
            progress(f"  keeping member {target}")
            bundle = load_bundle(target)
            model, record = bundle.model, bundle.metadata["training"]
        else:
            progress(f"  member seed {seed}")
            model, record = _train_one(member_config, table, split, runs_dir, progress)
            meta = metadata_for(replace(candidate, config=member_config), record, table)
            save_bundle(model, meta, target)
        members.append(model)
        member_records.append(record)
    return assemble_ensemble(config, members, member_records, table, split, labels, 6)


def training_place() -> str:
    import keras

    backend = keras.backend.backend()
    return f"{machine_description()}, Keras {keras.__version__} on the {backend} backend"


def choose_recording_model(runs_dir: str | Path) -> str:
    """The recording candidate with the best inter-patient VALIDATION macro-F1 (never DS2)."""
    best_name, best_score = None, -1.0
    for candidate in CANDIDATES:
        if candidate.role != "recording":
            continue
        path = Path(runs_dir) / "inter" / f"{candidate.config.name}.json"
        if not path.is_file():
            continue
        score = json.loads(path.read_text())["training"]["best_validation_macro_f1"]
        if score > best_score:
            best_name, best_score = candidate.config.name, score
    if best_name is None:
        raise FileNotFoundError(f"no trained recording candidate in {runs_dir}/inter")
    return best_name


def shipped_names(runs_dir: str | Path) -> dict[str, str]:
    return {
        "beat_image": "beat_image_cnn",
        "spectrogram": "spectrogram_cnn",
        "recording": choose_recording_model(runs_dir),
    }


def ship(runs_dir: str | Path, models_dir: str | Path, progress: Progress = print) -> list[str]:
    """Copy the chosen bundles: inter-trained to ``models/``, intra-trained to ``models/intra/``."""
    runs_dir, models_dir = Path(runs_dir), Path(models_dir)
    chosen = shipped_names(runs_dir)
    names = list(chosen.values())
    for name in names:
        for split, dest in (("inter", models_dir), ("intra", models_dir / "intra")):
            src = runs_dir / split / f"{name}.keras"
            if not src.is_file():
                if split == "intra":
                    continue
                raise FileNotFoundError(f"{src}: not trained")
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / src.name)
            shutil.copyfile(src.with_suffix(".json"), dest / f"{name}.json")
        progress(f"shipped {name}")
    # The recording model's metadata records the choice it won (validation macro-F1).
    meta_path = models_dir / f"{chosen['recording']}.json"
    meta = json.loads(meta_path.read_text())
    meta["selection"] = {
        "rule": "best inter-patient validation macro-F1 among the recording candidates",
        "validation_macro_f1": recording_scores(runs_dir),
    }
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return names


def recording_scores(runs_dir: str | Path) -> dict[str, float]:
    scores = {}
    for candidate in CANDIDATES:
        path = Path(runs_dir) / "inter" / f"{candidate.config.name}.json"
        if candidate.role == "recording" and path.is_file():
            training = json.loads(path.read_text())["training"]
            scores[candidate.config.name] = training["best_validation_macro_f1"]
    return scores


def load_pair(models_dir: str | Path, name: str) -> dict[str, Any]:
    """The inter (shipped) and intra bundles of a model, where present."""
    models_dir = Path(models_dir)
    out = {}
    for split, path in (("inter", models_dir / name), ("intra", models_dir / "intra" / name)):
        if path.with_suffix(".keras").is_file():
            out[split] = load_bundle(path)
    return out


def table_for_evaluation(
    data_dir: str | Path, progress: Progress, records: list[str] | None = None
) -> BeatTable:
    """Beats rebuilt from the WFDB records (evaluation never trusts a cache)."""
    return build_beat_table(data_dir, records, progress=progress)


def summary_line(metrics: dict[str, Any]) -> str:
    six = metrics["six_class"]
    return f"accuracy {six['accuracy']:.4f}, macro-F1 {six['macro_f1']:.4f}"


def as_array(x: Any) -> np.ndarray:
    return np.asarray(x)


def _model_summary(bundle: Any) -> dict[str, Any]:
    meta = bundle.metadata
    return {
        "model": meta["name"],
        "task": meta["task"],
        "representation": meta["representation"]["kind"],
        "inputs": meta["inputs"],
        "parameters": int(bundle.model.count_params()),
        "size_bytes": bundle.path.stat().st_size,
    }


def _reproduction_check(old: dict[str, Any], new: dict[str, Any]) -> dict[str, float]:
    """Largest change of the headline figures against the metrics file already on disk."""
    diffs = {}
    for split, m in new["splits"].items():
        before = old.get("splits", {}).get(split, {}).get("six_class")
        if before:
            for key in ("accuracy", "macro_f1", "ece"):
                diffs[f"{split}.{key}"] = abs(m["six_class"][key] - before[key])
    return diffs


def evaluate_models(
    data_dir: str | Path,
    models_dir: str | Path,
    runs_dir: str | Path | None = None,
    *,
    readme: str | Path | None = None,
    speed_record: str = "208",
    context: dict[str, Any] | None = None,
    records: list[str] | None = None,
    only: list[str] | None = None,
    progress: Progress = print,
) -> dict[str, dict[str, Any]]:
    """Re-evaluate every shipped model (and the baseline, if its weights are in ``runs_dir``)
    from the WFDB records; write metrics files, confusion PNGs, REPORT.md and the README block.

    ``only``: evaluate these models alone; the other metrics files and the last full run's
    ``evaluation.json`` (its times, the served recording model) are kept as they are.
    A two-channel model (issue 17) is scored on the same beats, both leads read from the
    records by the serving path (``two_lead_eval``); its speed is left to
    ``benchmarks/recording_benchmark.py --model`` (``measure_speed`` times one-lead calls).
    """
    from ecg.io.records import load_record
    from ecg.training import report
    from ecg.training.evaluation import bundle_rr_inputs, evaluate_on_split, measure_speed
    from ecg.training.two_lead_eval import TwoLeadScorer

    models_dir = Path(models_dir)
    started = time.perf_counter()
    table = table_for_evaluation(data_dir, progress, records)
    dataset_seconds = time.perf_counter() - started
    splits = make_splits(table)
    names = ModelRegistry(models_dir).names()
    if not names:
        raise FileNotFoundError(f"no models (*.keras) in {models_dir}")
    unknown = sorted(set(only or ()) - {*names, BASELINE})
    if unknown:
        raise FileNotFoundError(f"no model {', '.join(unknown)} in {models_dir}")
    # A two-channel model needs both leads of a beat, which the one-lead table does not hold.
    two_lead = {n for n in names if channel_count(read_metadata(models_dir / f"{n}.keras")) > 1}
    sources = {name: (models_dir, True) for name in names if not only or name in only}
    baseline_weights = runs_dir and (Path(runs_dir) / "inter" / f"{BASELINE}.keras").is_file()
    if baseline_weights and (not only or BASELINE in only):
        sources[BASELINE] = (Path(runs_dir), False)
    speed_rec = load_record(data_dir, speed_record)
    all_metrics: dict[str, dict[str, Any]] = {}
    reproduction: dict[str, dict[str, float]] = {}
    pair_meta: dict[str, dict[str, Any]] = {}
    for name, (root, shipped) in sources.items():
        if shipped:
            pair = load_pair(root, name)
        else:
            pair = {
                s: load_bundle(root / s / name)
                for s in ("inter", "intra")
                if (root / s / f"{name}.keras").is_file()
            }
        pair_meta[name] = pair["inter"].metadata
        data = _model_summary(pair["inter"])
        data["splits"] = {}
        for split_name, bundle in pair.items():
            progress(f"evaluating {name} on the {split_name}-patient test set")
            if name in two_lead:
                score = TwoLeadScorer(bundle, data_dir, table, progress)
                m = evaluate_on_split(bundle, table, splits[split_name], probabilities=score)
                m["two_lead_inputs"] = score.inputs_summary()
                rr_all = None
            else:
                rr_all = bundle_rr_inputs(bundle, table)  # whole records: once per model
                m = evaluate_on_split(bundle, table, splits[split_name], rr_all)
            m["training"] = bundle.metadata.get("training", {})
            m["validation_check"] = validation_check(bundle, table, splits[split_name], rr_all)
            png = f"{name}.{split_name}.confusion.png"
            report.plot_confusion(
                m["six_class"]["confusion_matrix"],
                m["six_class"]["classes"],
                f"{name}, {split_name}-patient test",
                models_dir / png,
            )
            m["confusion_png"] = png
            data["splits"][split_name] = m
            progress(f"  {summary_line(m)}")
        if shipped and name not in two_lead:
            peaks = speed_rec.ann_samples
            data["speed"] = measure_speed(pair["inter"], speed_rec.signal, speed_rec.fs, peaks)
            data["speed"]["record"] = speed_record
        # its own stamp: with ``only`` it differs from the last full run's (evaluation.json)
        data["evaluated"] = {
            "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "code_version": code_version(),
        }
        metrics_path = models_dir / f"{name}.metrics.json"
        if metrics_path.is_file():
            reproduction[name] = _reproduction_check(json.loads(metrics_path.read_text()), data)
        report.write_json(metrics_path, data)
        all_metrics[name] = data
    if only:
        ordered = render_reports(models_dir, readme)
        _print_reproduction(reproduction, progress)
        return ordered
    if BASELINE not in all_metrics and (models_dir / f"{BASELINE}.metrics.json").is_file():
        # Baseline weights (25 MB) are not shipped: keep the figures of the training run.
        all_metrics[BASELINE] = json.loads((models_dir / f"{BASELINE}.metrics.json").read_text())
    recording = next((n for n, d in all_metrics.items() if d.get("task") == "recording"), names[0])
    ctx = {
        "dataset_seconds": dataset_seconds,
        "evaluation_seconds": time.perf_counter() - started,
        "machine": machine_description(),
        "candidate_seconds": _unshipped_seconds(runs_dir, set(all_metrics)),
        "lead": table.lead,
        "n_beats": len(table),
        "n_records": len(set(table.records.tolist())),
        "validation_records": list(_validation_records()),
        "evaluated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code_version": code_version(),
        **(context or {}),
    }
    selection = pair_meta.get(recording, {}).get("selection", {})
    if selection and "recording_choice" not in ctx:
        ctx["recording_choice"] = selection["validation_macro_f1"]
    ctx["recording_model"] = recording
    report.write_json(models_dir / "evaluation.json", ctx)
    ordered = render_reports(models_dir, readme)
    _print_reproduction(reproduction, progress)
    return ordered


def _print_reproduction(reproduction: dict[str, dict[str, float]], progress: Progress) -> None:
    for name, diffs in reproduction.items():
        worst = max(diffs.values(), default=0.0)
        progress(f"{name}: largest change against the previous metrics file {worst:.2e}")


def validation_check(
    bundle: Any, table: BeatTable, split: Split, rr_all: np.ndarray | None = None
) -> dict[str, Any]:
    """The validation macro-F1 recomputed here against the one recorded at training time: the
    same weights must give the same figure (a check that a bundle trained on another machine
    or Keras backend behaves identically here)."""
    from ecg.training.evaluation import bundle_probabilities
    from ecg.training.metrics import confusion_matrix, macro_f1

    elsewhere = bundle.metadata.get("training", {}).get("validation_set")
    if channel_count(bundle.metadata) > 1:  # chosen and calibrated on the app path, both leads
        wired = bundle.metadata.get("selection", {}).get("wired_validation")
        elsewhere = elsewhere or (
            "MIT-BIH DS1 validation records and PTB-XL fold 9 through the app path"
            + (f" ({wired})" if wired else "")
        )
    if elsewhere:  # validated on a set this split does not hold (MIT-BIH + PTB-XL): its script
        # recomputes that figure when it assembles the model (benchmarks/ptbxl_mixed_ship.py)
        return {"recorded_at_training": None, "validated_on": elsewhere}
    labels = table.labels(bundle.metadata["label_set"])
    probs = bundle_probabilities(bundle, table, split.val, rr_all)
    here = macro_f1(confusion_matrix(labels[split.val], probs.argmax(axis=1), len(bundle.classes)))
    recorded = bundle.metadata.get("training", {}).get("best_validation_macro_f1")
    return {"recorded_at_training": recorded, "recomputed_here": here}


def _sidecar(models_dir: Path, recording: str, suffix: str) -> dict[str, Any] | None:
    """``models/<recording><suffix>`` if there is one, marked stale when it was measured on
    another version of the model file (its ``model_sha256``)."""
    path = models_dir / f"{recording}{suffix}"
    if not path.is_file():
        return None
    figures = json.loads(path.read_text())
    current = file_sha256(models_dir / f"{recording}.keras")
    return {**figures, "path": str(path), "stale": figures.get("model_sha256") != current}


def seed_spread(models_dir: Path, recording: str) -> dict[str, Any] | None:
    """``models/<recording>.seeds.json`` (``experiments/ml_seed_spread.py``), if any."""
    return _sidecar(models_dir, recording, ".seeds.json")


def external_figures(models_dir: Path, recording: str) -> dict[str, Any] | None:
    """``models/<recording>.external.json`` (written by ``benchmarks/ptbxl_mixed_ship.py``: the
    model's figures on PTB-XL fold 10 and LUDB, which evaluate_model does not hold), if any."""
    return _sidecar(models_dir, recording, ".external.json")


def conduction_figures(models_dir: Path, recording: str) -> dict[str, Any] | None:
    """``models/<recording>.conduction.json`` (``benchmarks/conduction_served_ptbxl.py``: the
    served conduction finding on PTB-XL fold 10), if any."""
    return _sidecar(models_dir, recording, ".conduction.json")


def served_figures(models_dir: Path, recording: str) -> dict[str, Any] | None:
    """``models/<recording>.served.json`` (``benchmarks/served_classifier_test.py``: the test
    figures with the probabilities calibrated as served, beside the network's own), if any."""
    return _sidecar(models_dir, recording, ".served.json")


def render_reports(models_dir: str | Path, readme: str | Path | None = None) -> dict[str, Any]:
    """REPORT.md (and the README blocks) from the metrics files and ``evaluation.json``."""
    from ecg.training import report

    models_dir = Path(models_dir)
    context_path = models_dir / "evaluation.json"
    if not context_path.is_file():
        raise FileNotFoundError(f"{context_path}: run evaluate_model first")
    ctx = json.loads(context_path.read_text())
    ctx["intra_training"] = INTRA_TRAINING
    ctx["seed_spread"] = seed_spread(models_dir, ctx["recording_model"])
    ctx["external"] = external_figures(models_dir, ctx["recording_model"])
    ctx["conduction"] = conduction_figures(models_dir, ctx["recording_model"])
    ctx["served"] = served_figures(models_dir, ctx["recording_model"])
    metrics = {
        p.name.removesuffix(".metrics.json"): json.loads(p.read_text())
        for p in sorted(models_dir.glob("*.metrics.json"))
    }
    ordered = {n: metrics[n] for n in sorted(metrics, key=lambda n: n == BASELINE)}
    report.write_report(
        models_dir, ordered, recording=ctx["recording_model"], baseline=BASELINE, context=ctx
    )
    if readme:
        block = report.readme_block(
            ordered, BASELINE, recording=ctx["recording_model"], context=ctx
        )
        report.update_readme(Path(readme), block)
        timing = "\n".join(report.timing_lines(ordered, ctx, BASELINE))
        report.update_readme(Path(readme), timing, report.TIMING_START, report.TIMING_END)
    return ordered


def machine_description() -> str:
    import os
    import platform

    return f"{platform.machine()} CPU, {os.cpu_count()} cores visible, {platform.system()}"


def _unshipped_seconds(runs_dir: str | Path | None, evaluated: set[str]) -> float:
    """Training time of the recording candidates that lost the choice (still part of a run)."""
    if not runs_dir:
        return 0.0
    total = 0.0
    for path in Path(runs_dir).glob("*/*.json"):
        if path.stem not in evaluated:
            total += json.loads(path.read_text()).get("training", {}).get("train_seconds", 0.0)
    return total


def _validation_records() -> tuple[str, ...]:
    from ecg.training.dataset import DS1_VALIDATION_RECORDS

    return DS1_VALIDATION_RECORDS

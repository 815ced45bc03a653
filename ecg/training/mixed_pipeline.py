"""The shipped recording model ``recording_mixed``, built end to end (issue 17).

MIT-BIH DS1 (MLII, plus V1 / V5 where a record has it) and PTB-XL folds 1-8 (II and V1) are
mixed into one lead-tagged beat table (``mixed``), validated on DS1 records 106, 124, 209, 223
and PTB-XL fold 9. ``build`` runs every step in order:

1. the mixed table and its split (``mixed_table``, ``mixed_split``; tables cached);
2. one ``mixed_spec_ctx_v2`` model per seed (``candidate_config``);
3. the seeds averaged into one Keras model and scored on validation
   (``training.assemble_ensemble``), figures per source and lead (``validation_by_source``);
4. temperature rule and "uncertain" threshold fitted on the MIT-BIH validation records and PTB-XL
   fold 9 as ``benchmarks/calibrate_models.py`` fits them (``calibrate``);
5. the bundle (``recording_mixed.keras`` + metadata) and ``run.json`` with every step's time.

``SHIPPED_PLAN`` is what is shipped (PTB-XL on four leads, three seeds, 10 epochs;
``benchmarks/ptbxl_leads_study.py`` chose it); ``FULL`` is the two-lead recipe shipped before it,
which the earlier benchmark scripts reproduce; ``QUICK`` is a set-up check on a few records and
patients (one seed, two short epochs). ``benchmarks/ptbxl_mixed_train.py`` and
``ptbxl_mixed_ship.py`` use the same table, split and configuration from here. Nothing here
reads DS2, PTB-XL fold 10 or LUDB.

Long on purpose: the shipped model's whole recipe (data, caps, configuration, check,
calibration) in one place, so the command and the benchmark scripts cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ecg.classes import DS1_RECORDS, class_codes
from ecg.io.ptbxl import VALIDATION_FOLD
from ecg.io.records import load_record
from ecg.models.bundle import ModelBundle, load_bundle, save_bundle
from ecg.models.calibration import (
    ECE_BINS,
    apply_temperature,
    prior_tilted,
    threshold_for_coverage,
)
from ecg.training.calibration_fit import (
    RULE_CHOICE,
    VALIDATION_COVERAGE,
    calibration_figures,
    choose_rule,
    class_prior,
    criterion_text,
    fitted_on_text,
    ptbxl_probabilities,
    ptbxl_records,
    with_ptbxl_validation,
)
from ecg.training.dataset import (
    DS1_VALIDATION_RECORDS,
    BeatTable,
    Split,
    beats_from_record,
    build_beat_table,
    load_beat_table,
    save_beat_table,
)
from ecg.training.evaluation import bundle_probabilities
from ecg.training.metrics import classification_metrics
from ecg.training.mixed import (
    LEAD_SEPARATOR,
    as_mixed,
    cap_per_group,
    concat_tables,
    ptbxl_lead_table,
    record_of,
    tag_lead,
)
from ecg.training.pipeline import Candidate, metadata_for
from ecg.training.ptbxl_ectopic import KINDS, build_ptbxl_ectopic_beats
from ecg.training.selective import selective_at
from ecg.training.training import ModelConfig, assemble_ensemble, train

Progress = Callable[[str], None]

SHIPPED_NAME = "recording_mixed"
CANDIDATE = "mixed_spec_ctx_v2"
# PTB-XL II (MLII's nearest limb lead) and V1 (where RBBB's terminal R' and LBBB's wide QS are
# clearest; II is a weak witness for RBBB: docs/ptbxl-beats.md). III and V5 were left out for
# time (each PTB-XL lead costs ~2 minutes of beat detection per 1,000 records on 2 cores).
PTBXL_LEADS = ("II", "V1")
# MIT-BIH's second lead where it is V1 or V5 (DS1: V1 in 20 records, V5 in 114; 124's V4 is
# left out).
SECOND_LEADS = ("V1", "V5")


def trained_leads(ptbxl_leads: tuple[str, ...] = PTBXL_LEADS) -> list[str]:
    """The leads a model saw in training (MIT-BIH's MLII is a modified lead II), each once."""
    return list(dict.fromkeys(["MLII", *ptbxl_leads, *SECOND_LEADS]))


TRAINED_LEADS = trained_leads()
SPLIT_SEED = 0
# The table caches of the full run (shared with benchmarks/ptbxl_mixed_train.py).
MITDB_CACHE = Path("build/beats_mlii.npz")
FULL_CACHE_DIR = Path("build/mixed")


@dataclass(frozen=True)
class MixedPlan:
    """What one build trains on and how long."""

    # MIT-BIH records used (DS1 only; training and validation records among them)
    mitdb_records: tuple[str, ...] = DS1_RECORDS
    # PTB-XL: NORM records sampled per split; every CLBBB / CRBBB record unless ``n_blocks``
    n_norm: dict[str, int] = field(default_factory=lambda: {"train": 1000, "validation": 300})
    n_blocks: int | None = None
    # at most this many beats per (record, class): a MIT-BIH record gives up to 2,500 beats of
    # one class, a PTB-XL record about ten; the cap keeps a class pool from being a few patients
    record_cap: int = 400
    # at most this many beats per (source, class) in training: PTB-XL's NORM beats (about
    # 20,000 on two leads) would otherwise be most of the N pool
    source_cap: int = 8000
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 10
    # ModelConfig overrides of the epoch size (None: the configuration's own)
    epoch_cap: int | None = None
    epoch_floor: int | None = None
    workers: int = 2
    # PTB-XL leads, each a beat table of its own (``PTBXL_LEADS`` unless a study names others)
    ptbxl_leads: tuple[str, ...] = PTBXL_LEADS
    # also the early beats of PTB-XL's PAC ("A") and / or PVC ("V") records
    # (``ptbxl_ectopic.KINDS``; a study's candidate, benchmarks/ptbxl_ectopic_study.py)
    ptbxl_ectopic: tuple[str, ...] = ()
    # share of each epoch's beats given a recording artefact (``artefacts``; a study's
    # candidate, benchmarks/artefact_training_study.py): 0, none
    artefact_share: float = 0.0


FULL = MixedPlan()
# The shipped recipe: every lead of the PTB-XL folder, the per-source cap doubled so that each
# lead keeps the share of the pool it had with two (benchmarks/results/ptbxl_leads_study.json).
PTBXL_ALL_LEADS = ("II", "III", "V1", "V5")
SHIPPED_PLAN = replace(FULL, ptbxl_leads=PTBXL_ALL_LEADS, source_cap=2 * FULL.source_cap)
# Set-up check: DS1 records holding every class (101 N/A, 109 L/V, 118 R/A, 207 L/R/V/!/A) and
# two validation records (106 V, 124 R); a few PTB-XL records per label and split.
QUICK = MixedPlan(
    mitdb_records=("101", "106", "109", "118", "124", "207"),
    n_norm={"train": 30, "validation": 15},
    n_blocks=15,
    record_cap=150,
    source_cap=1500,
    seeds=(0,),
    epochs=2,
    epoch_cap=400,
    epoch_floor=150,
    ptbxl_leads=PTBXL_ALL_LEADS,
)


def seeded_name(name: str, seed: int) -> str:
    """The model name of ``seed``: seed 0 keeps the original name (the first run's files)."""
    return name if seed == SPLIT_SEED else f"{name}_seed{seed}"


def candidate_config(epochs: int, seed: int = 0, plan: MixedPlan | None = None) -> ModelConfig:
    """``mixed_spec_ctx_v2``: the spectrogram + RR + record-context architecture, feature set
    ``rr+record_context_v2``, half of each epoch's beats band-limited to 100 Hz."""
    config = ModelConfig(
        seeded_name(CANDIDATE, seed),
        "spectrogram",
        use_rr=True,
        rhythm_features="rr+record_context_v2",
        noise_mv=0.0,  # as the shipped spectrogram models (pipeline.CANDIDATES)
        band_limit_share=0.5,
        max_epochs=epochs,
        seed=seed,
    )
    if plan is not None and plan.epoch_cap is not None:
        config = replace(config, cap=plan.epoch_cap)
    if plan is not None and plan.epoch_floor is not None:
        config = replace(config, floor=plan.epoch_floor)
    if plan is not None and plan.artefact_share:
        config = replace(config, artefact_share=plan.artefact_share)
    return config


def mitdb_tables(
    data_dir: str | Path,
    records: tuple[str, ...] | None = None,
    *,
    mlii_cache: Path = MITDB_CACHE,
    second_cache: Path = FULL_CACHE_DIR / "mitdb_ds1_second_lead.npz",
    progress: Progress | None = None,
) -> tuple[BeatTable, BeatTable]:
    """(MLII table of ``records`` (None: every record), second-lead table of the DS1 records
    among them that have V1 / V5), each cached."""
    if mlii_cache.is_file():
        mlii = load_beat_table(mlii_cache)
    else:
        mlii = build_beat_table(data_dir, list(records) if records else None, progress=progress)
        save_beat_table(mlii, mlii_cache)
    if second_cache.is_file():
        return mlii, load_beat_table(second_cache)
    parts = []
    for name in DS1_RECORDS:
        if records and name not in records:
            continue
        for lead in SECOND_LEADS:
            try:
                record = load_record(data_dir, name, lead=lead)
            except Exception:  # noqa: BLE001 -- this record lacks the lead; try the next
                continue
            w, rr, sym = beats_from_record(record)
            names = np.full(len(sym), name, "<U8")
            parts.append(BeatTable(w, rr, sym, names, mlii.fs, mlii.pre_s, mlii.post_s, lead))
            break
    if not parts:
        raise ValueError(f"no MIT-BIH record among {records} has a {' or '.join(SECOND_LEADS)}")
    second = concat_tables(parts, lead="V1/V5")
    save_beat_table(second, second_cache)
    return mlii, second


def mixed_table(
    mitdb_dir: str | Path,
    ptbxl_dir: str | Path,
    plan: MixedPlan = FULL,
    *,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[BeatTable, np.ndarray, np.ndarray]:
    """The lead-tagged mixed table (DS1 + PTB-XL train and validation), and per beat its source
    ("mitdb" / "ptbxl") and whether it is a validation beat. ``cache_dir`` None: the full run's
    caches (``build/beats_mlii.npz``, ``build/mixed/``)."""
    if cache_dir is None:
        mlii, second = mitdb_tables(mitdb_dir, None, progress=progress)
    else:
        mlii, second = mitdb_tables(
            mitdb_dir,
            plan.mitdb_records,
            mlii_cache=cache_dir / "mitdb_mlii.npz",
            second_cache=cache_dir / "mitdb_second_lead.npz",
            progress=progress,
        )
    ds1 = [r for r in plan.mitdb_records if r in DS1_RECORDS]
    ds1_table = mlii.subset(np.flatnonzero(np.isin(mlii.records, ds1)))
    # the cached second-lead table holds every DS1 record: a plan that leaves records out
    # (a cross-fitting fold) must not train on their V1 / V5 beats either
    second = second.subset(np.flatnonzero(np.isin(second.records, ds1)))
    parts = [tag_lead(ds1_table, "mlii"), tag_lead(second, "v1v5")]
    sources, is_val = [], []
    for t in parts:
        sources.append(np.full(len(t), "mitdb"))
        is_val.append(np.isin(record_of(t.records), DS1_VALIDATION_RECORDS))
    for split in ("train", "validation"):
        for lead in plan.ptbxl_leads:
            n_norm = plan.n_norm[split]
            cache = None
            if cache_dir is not None:
                cache = cache_dir / f"ptbxl_{split}_{lead.lower()}_n{n_norm}_b{plan.n_blocks}.npz"
            if progress:
                progress(f"PTB-XL {split} beats, lead {lead}")
            beats = ptbxl_lead_table(
                ptbxl_dir,
                split,
                lead,
                n_norm=n_norm,
                n_blocks=plan.n_blocks,
                workers=plan.workers,
                cache=cache,
            )
            parts.append(tag_lead(beats.table, lead))
            sources.append(np.full(len(beats.table), "ptbxl"))
            is_val.append(np.full(len(beats.table), split == "validation"))
            for symbol in plan.ptbxl_ectopic:
                name = f"ptbxl_ectopic_{symbol}_{split}_{lead.lower()}.npz"
                ectopic = build_ptbxl_ectopic_beats(
                    ptbxl_dir,
                    split,
                    KINDS[symbol],
                    lead=lead,
                    cache=None if cache_dir is None else cache_dir / name,
                    workers=plan.workers,
                    progress=progress,
                )
                parts.append(tag_lead(ectopic.table, lead))
                sources.append(np.full(len(ectopic.table), "ptbxl"))
                is_val.append(np.full(len(ectopic.table), split == "validation"))
    leads = ", ".join(trained_leads(plan.ptbxl_leads)).replace("MLII, II", "MLII/II")
    table = as_mixed(concat_tables(parts, lead=f"mixed: {leads}"))
    return table, np.concatenate(sources), np.concatenate(is_val)


def ectopic_text(symbols: tuple[str, ...]) -> str:
    """The split description's words for the PTB-XL early beats a plan adds ("" for none)."""
    if not symbols:
        return ""
    statements = " and ".join(KINDS[s].statement for s in symbols)
    return f" with the early {', '.join(symbols)} beats of {statements} records"


def mixed_split(
    table: BeatTable, sources: np.ndarray, is_val: np.ndarray, plan: MixedPlan = FULL
) -> tuple[Split, dict[str, int]]:
    """The training and validation beats after the per-record and per-source caps, and the beat
    count per split, source and class."""
    labels = table.labels("six")
    labelled = np.flatnonzero(labels >= 0)
    by_record = np.char.add(np.char.add(labels.astype(str), "|"), table.records)
    by_source = np.char.add(np.char.add(labels.astype(str), "|"), sources)
    seed = SPLIT_SEED
    train_idx = cap_per_group(labelled[~is_val[labelled]], by_record, plan.record_cap, seed=seed)
    train_idx = cap_per_group(train_idx, by_source, plan.source_cap, seed=seed)
    val_idx = cap_per_group(labelled[is_val[labelled]], by_record, plan.record_cap, seed=seed)
    val_records = ", ".join(r for r in DS1_VALIDATION_RECORDS if r in plan.mitdb_records)
    split = Split(
        "mixed",
        train_idx,
        val_idx,
        np.zeros(0, np.int64),
        f"mixed: MIT-BIH DS1 minus records {val_records} (MLII + V1/V5) + PTB-XL folds 1-8 "
        f"({', '.join(plan.ptbxl_leads)})"
        f"{ectopic_text(plan.ptbxl_ectopic)}; "
        "validation: those DS1 records + PTB-XL fold 9; "
        f"at most {plan.record_cap} beats per record and class, {plan.source_cap} per source "
        "and class in training",
    )
    counts = {}
    for name, idx in (("train", train_idx), ("validation", val_idx)):
        for src in ("mitdb", "ptbxl"):
            for code, c in zip(class_codes("six"), range(6), strict=True):
                counts[f"{name}/{src}/{code}"] = int(
                    np.sum((sources[idx] == src) & (labels[idx] == c))
                )
    return split, counts


def validation_probabilities(
    bundle: ModelBundle, table: BeatTable, split: Split, is_val: np.ndarray
) -> np.ndarray:
    """The bundle's class probabilities of ``split.val``'s beats. The record context is computed
    over every validation beat of a record, as in training, before the per-record cap picks the
    scored ones."""
    rows = np.flatnonzero(is_val)
    sub = as_mixed(table.subset(rows))
    at = np.searchsorted(rows, split.val)
    rr_all = None
    if "rr" in bundle.metadata["inputs"]:
        window = bundle.metadata["window"]
        rr_all = sub.rhythm_inputs(window["pre_s"], window["post_s"], bundle.rhythm_features)
    return bundle_probabilities(bundle, sub, at, rr_all)


def validation_by_source(
    path: Path | ModelBundle,
    table: BeatTable,
    split: Split,
    sources: np.ndarray,
    is_val: np.ndarray,
) -> dict[str, object]:
    """Six-class figures of a saved bundle (or a loaded one: a seed ensemble) on the validation
    beats (``validation_probabilities``), per source and pooled (intervals over records)."""
    bundle = path if isinstance(path, ModelBundle) else load_bundle(path)
    probs = validation_probabilities(bundle, table, split, is_val)
    labels = table.labels("six")[split.val]
    out = {}
    # per source, pooled, and per source and lead ("ptbxl@v1"): does one model serve each lead?
    tags = np.char.add(
        np.char.add(sources[split.val], "@"), np.char.partition(table.records[split.val], "@")[:, 2]
    )
    for src in ("mitdb", "ptbxl", "all", *sorted(set(tags))):
        if src == "all":
            keep = np.ones(len(split.val), bool)
        else:
            keep = (tags if "@" in src else sources[split.val]) == src
        if not keep.any():
            continue
        records = np.char.partition(table.records[split.val][keep], "@")[:, 0]
        m = classification_metrics(labels[keep], probs[keep], bundle.classes, records)
        if src != "all":  # the pooled one stays: paired comparisons of two models read it
            m.pop("per_record_confusion", None)
        out[src] = m
    return out


def calibrate(
    bundle: ModelBundle,
    table: BeatTable,
    sources: np.ndarray,
    ptbxl_dir: str | Path,
    plan: MixedPlan = FULL,
) -> dict[str, Any]:
    """The ``"calibration"`` metadata entry, fitted as ``benchmarks/calibrate_models.py`` fitted
    the shipped one: on every labelled MLII beat of the MIT-BIH validation records and on PTB-XL
    fold 9's lead-II beats found by the serving path's detector (``calibration_fit.ptbxl_records``
    with ``plan.n_norm["validation"]`` NORM records), each source weighing the same; the class
    prior of the plan's MIT-BIH training beats applied first (``calibration_fit.class_prior``);
    the rule with the lowest ECE on a left-out fold, the threshold answering
    ``VALIDATION_COVERAGE``."""
    tags = np.char.partition(table.records, LEAD_SEPARATOR)
    # the validation records' MLII beats, unlabelled ones too: the record context reads them all
    rows = np.flatnonzero(
        (sources == "mitdb") & (tags[:, 2] == "mlii") & np.isin(tags[:, 0], DS1_VALIDATION_RECORDS)
    )
    sub = as_mixed(table.subset(rows))
    labels = sub.labels("six")
    mit = np.flatnonzero(labels >= 0)
    val = {
        "probs": bundle_probabilities(bundle, sub, mit),
        "y": labels[mit],
        "records": tags[rows[mit], 0],
    }
    fold9 = ptbxl_records(
        ptbxl_dir, plan.n_norm["validation"], VALIDATION_FOLD, max_blocks=plan.n_blocks
    )
    ptbxl = ptbxl_probabilities(bundle, fold9)
    if ptbxl is not None:
        val = with_ptbxl_validation(val, ptbxl)
    # The class prior of the MIT-BIH training records' beats first (served before the
    # temperature: calibration.calibrated_probabilities), then T and the threshold on top of it.
    trained = np.flatnonzero(
        (sources == "mitdb") & (tags[:, 2] == "mlii") & np.isin(tags[:, 0], plan.mitdb_records)
    )
    prior = class_prior(as_mixed(table.subset(trained)).labels("six"), len(bundle.classes))
    val = val | {"probs": prior_tilted(val["probs"], prior)}
    rule, temperature, left_out = choose_rule(val)
    scaled = apply_temperature(val["probs"], temperature)
    threshold = threshold_for_coverage(scaled, VALIDATION_COVERAGE, val.get("weights"))
    coverage = selective_at(scaled, val["y"], bundle.classes, threshold)["coverage"]
    figures = calibration_figures(val["probs"], val["y"], temperature)
    n_mit = len(mit)
    return {
        "class_prior": prior,
        "temperature": round(float(temperature), 6),
        "rule": rule,
        "rule_choice": RULE_CHOICE,
        "held_out_ece": {k: round(v["mean_held_out_ece"], 5) for k, v in left_out.items()},
        "uncertain_below": float(threshold),
        "criterion": criterion_text(weighted_sources=ptbxl is not None),
        "fitted_on": fitted_on_text(
            list(set(val["records"][:n_mit].tolist())),
            n_mit,
            len(ptbxl["y"]) if ptbxl is not None else None,
        ),
        "ece_bins": ECE_BINS,
        **{k: round(figures[k], 5) for k in ("ece_before", "ece_after", "nll_before", "nll_after")},
        "validation_coverage": round(coverage, 5),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "script": "ecg/training/mixed_pipeline.py (python manage.py train_mixed)",
    }


def build(
    mitdb_dir: str | Path,
    ptbxl_dir: str | Path,
    out_dir: str | Path,
    plan: MixedPlan = FULL,
    *,
    name: str = SHIPPED_NAME,
    cache_dir: Path | None = None,
    progress: Progress = print,
) -> dict[str, Any]:
    """Train the seeds, average them, check and calibrate the ensemble and write
    ``<out_dir>/<name>.keras`` with its metadata and ``<out_dir>/run.json`` (steps' seconds,
    beat counts, validation figures). Returns the run record."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    run: dict[str, Any] = {"plan": asdict(plan), "seconds": seconds}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = round(now - clock, 1)
        clock = now
        progress(f"{step}: {seconds[step]} s")

    table, sources, is_val = mixed_table(
        mitdb_dir, ptbxl_dir, plan, cache_dir=cache_dir, progress=progress
    )
    split, counts = mixed_split(table, sources, is_val, plan)
    if not len(split.train) or not len(split.val):
        raise ValueError("the mixed table has no training or no validation beats")
    run.update(split=split.description, beats=counts)
    lap("tables")
    labels = table.labels("six")
    members, member_records = [], []
    for seed in plan.seeds:
        config = candidate_config(plan.epochs, seed, plan)
        progress(f"training {config.name}")
        model, record = train(
            config, table, split, labels, 6, work_dir=out / "checkpoints", progress=progress
        )
        meta = metadata_for(Candidate(config, "recording", "recording"), record, table)
        save_bundle(model, meta, out / "members" / f"{config.name}.keras")
        members.append(model)
        member_records.append(record)
        lap(f"train seed {seed}")
    ensemble_config = replace(candidate_config(plan.epochs, 0, plan), ensemble_seeds=plan.seeds)
    model, record = assemble_ensemble(
        ensemble_config, members, member_records, table, split, labels, 6
    )
    meta = metadata_for(Candidate(ensemble_config, "recording", "recording"), record, table)
    meta.update(name=name, lead="MLII", leads=trained_leads(plan.ptbxl_leads))
    meta["training"].update(
        data="MIT-BIH DS1 (minus the validation records) and PTB-XL folds 1-8",
        validation_set=split.description,
        script="python manage.py train_mixed (ecg/training/mixed_pipeline.py)",
    )
    meta["training"]["ensemble"]["best_epoch"] = record["best_epoch"]
    bundle = ModelBundle(model, meta, out / f"{name}.keras")
    run["validation"] = validation_by_source(bundle, table, split, sources, is_val)
    lap("ensemble and validation")
    meta["calibration"] = calibrate(bundle, table, sources, ptbxl_dir, plan)
    lap("calibration")
    path = save_bundle(model, meta, out / f"{name}.keras")
    lap("bundle written")
    run.update(
        model=str(path),
        validation_macro_f1=record["best_validation_macro_f1"],
        member_validation_macro_f1=record["ensemble"]["member_validation_macro_f1"],
        calibration=meta["calibration"],
        total_seconds=round(sum(seconds.values()), 1),
    )
    (out / "run.json").write_text(json.dumps(run, indent=1, default=str) + "\n")
    return run

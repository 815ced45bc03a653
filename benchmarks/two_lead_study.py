"""One network call reading both leads of a beat: a two-lead model, a validation study (issue 17).

    nice -n 10 python benchmarks/two_lead_study.py train --seed 0 [--epochs 10]
    nice -n 10 python benchmarks/two_lead_study.py study [--parts validation ds2 fold10]
        [--fold10-normal N] [--out benchmarks/results/two_lead.json]
    nice -n 10 python benchmarks/two_lead_study.py study --parts compute

The shipped path (``models/recording_mixed``, three seeds averaged, lead fusion rule ``mean``:
``benchmarks/lead_fusion_study.py``) classifies every beat twice, once per lead, and averages
the probabilities. The candidate here reads the primary lead (MLII / II) and the second lead
(V1 / V5) of a beat as the two channels of one 64x64 spectrogram image, with the same "rr"
input (the primary lead's RR and record context), so each beat costs one network call. A beat
without a trained second lead (a one-lead upload, MIT-BIH 124's V4, DS2's V2) gets its primary
lead in both channels (``ecg.training.two_lead``: why duplication and not a zero channel).
Training: the shipped recipe (``mixed_pipeline``: same records, caps, configuration
``mixed_spec_ctx_v2``, 10 epochs, early stopping on the validation macro-F1, best checkpoint
reloaded) on aligned two-lead tables (``two_lead``): MIT-BIH DS1 MLII with V1 / V5 where the
record has it (else duplicated), PTB-XL folds 1-8 II + V1 cut at the same peaks, plus a
one-lead copy (II in both channels) of a fixed random 25 % of the PTB-XL training records.

Selection rule -- written before any figure of this study was looked at:

- validation data only, the same as ``lead_fusion_study.py``: MIT-BIH DS1 validation records
  106, 124, 209, 223 (every detected beat matched, EC57 150 ms, to a six-class reference beat)
  and PTB-XL fold 9 (every LBBB / RBBB record without ectopy and 300 random normal ones, seed
  0; each beat labelled with its record's class), through the app's path (``detect_beats``
  with the second lead, ``recording_quality``, ``beats_readable``, then the model at the same
  peaks).
- objective: the mean over the two sources (each weighing the same) of the six-class beat
  macro-F1 (``metrics.macro_f1``, classes present in that source) of the arg-max calls -- the
  objective of ``lead_fusion_study.py``.
- baseline: the shipped fused path (each lead through ``models/recording_mixed``, ``mean``
  rule where the second lead is a trained one), its objective recomputed in the same run on
  the same beats (0.813 in ``benchmarks/results/lead_fusion.json``).
- the candidate ships only if its objective beats the baseline's by MORE THAN 0.01 (twice the
  lead-fusion study's tie margin: a new architecture and a new serving input cost more than a
  fusion rule), with the same number of seeds on each side: a three-seed two-lead ensemble
  against the shipped three-seed ensemble.
- with fewer than three two-lead seeds trained, each two-lead seed is compared against the
  shipped ensemble's member of the same seed (``build/mixed/models/mixed_spec_ctx_v2*``, fused
  by the same ``mean`` rule) and NOTHING ships, whatever the figures.
- the one-lead case is measured on the same validation beats with the primary lead duplicated
  (the candidate) against the shipped model on the primary lead alone: reported, not chosen on.

Only reported, never used to choose: MIT-BIH DS2 (22 records) six-class per-class Se / +P / F1,
macro-F1 with 95 % bootstrap intervals over records, AAMI VEB / SVEB; PTB-XL fold 10 record F1
(CLBBB / CRBBB / NORM, majority vote, intervals over patients); the compute per beat (network
calls and images drawn).

Per-record probabilities of the candidate are cached under ``build/two_lead/`` (the shipped
path's under ``build/lead_fusion/``, written by ``lead_fusion_study.py`` with the same code).

Long on purpose: the rule, the training step, the validation run and the reported test sets must
read the same beats the same way; split apart, one could silently drift from the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT_DIR = Path("build/two_lead")
NAME = "two_lead_spec_ctx_v2"
MARGIN = 0.01
ONE_LEAD_SHARE = 0.25  # PTB-XL training records also shown with II in both channels


def two_lead_table(mitdb_dir: Path, ptbxl_dir: Path, progress=print):
    """(table, sources, is_val): the shipped mixed table's beats, primary + second lead."""
    from ecg.classes import DS1_RECORDS
    from ecg.training.dataset import DS1_VALIDATION_RECORDS
    from ecg.training.mixed import record_of, tag_lead
    from ecg.training.mixed_pipeline import FULL, mitdb_tables
    from ecg.training.two_lead import (
        TwoLeadTable,
        concat_two_lead,
        mitdb_two_lead,
        ptbxl_two_lead_table,
        with_one_lead_copies,
    )

    mlii, second = mitdb_tables(mitdb_dir, None, progress=progress)
    ds1 = mlii.subset(np.flatnonzero(np.isin(mlii.records, DS1_RECORDS)))
    parts: list[TwoLeadTable] = []
    mit = mitdb_two_lead(ds1, second)
    mit.records = tag_lead(mit, "mlii").records
    parts.append(mit)
    sources = [np.full(len(mit), "mitdb")]
    is_val = [np.isin(record_of(mit.records), DS1_VALIDATION_RECORDS)]
    for split in ("train", "validation"):
        t, _ = ptbxl_two_lead_table(
            ptbxl_dir, split, n_norm=FULL.n_norm[split], workers=FULL.workers, progress=progress
        )
        t.records = tag_lead(t, "ii").records
        if split == "train":
            t = with_one_lead_copies(t, ONE_LEAD_SHARE, seed=0)
        parts.append(t)
        sources.append(np.full(len(t), "ptbxl"))
        is_val.append(np.full(len(t), split == "validation"))
    table = concat_two_lead(parts, lead="two-lead: MLII/II + V1/V5 (or the primary again)")
    return table, np.concatenate(sources), np.concatenate(is_val)


def train_seed(args: argparse.Namespace) -> None:
    from ecg.models.bundle import save_bundle
    from ecg.training.mixed_pipeline import FULL, candidate_config, mixed_split
    from ecg.training.pipeline import Candidate, metadata_for
    from ecg.training.training import train

    started = time.perf_counter()
    table, sources, is_val = two_lead_table(args.mitdb, args.ptbxl)
    split, counts = mixed_split(table, sources, is_val, FULL)
    print(f"table: {len(table)} beats, {len(split.train)} train, {len(split.val)} validation; "
          f"second lead real on {table.has_second[split.train].mean():.2f} of training beats",
          flush=True)  # fmt: skip
    base = candidate_config(args.epochs, args.seed, FULL)
    name = NAME if args.seed == 0 else f"{NAME}_seed{args.seed}"
    config = replace(base, name=name, channels=2)
    model, record = train(
        config,
        table,
        split,
        table.labels("six"),
        6,
        work_dir=OUT_DIR / "checkpoints",
        progress=lambda m: print(m, flush=True),
    )
    record["beats"] = counts
    record["one_lead_share_ptbxl_train_records"] = ONE_LEAD_SHARE
    meta = metadata_for(Candidate(config, "recording", "recording"), record, table)
    # channel_leads: per channel, the leads it was trained on (``bundle.check_channels``); the
    # second channel holds the primary again where the second lead is missing.
    meta.update(channels=2, channel_leads=[["MLII", "II"], ["V1", "V5"]])
    path = save_bundle(model, meta, OUT_DIR / "models" / f"{name}.keras")
    print(f"saved {path} after {time.perf_counter() - started:.0f} s; best validation "
          f"macro-F1 {record['best_validation_macro_f1']:.4f}", flush=True)  # fmt: skip


def main() -> None:
    from ecg.io.ptbxl import default_ptbxl_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["train", "study"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--mitdb", default="../shared/data/mitdb", type=Path)
    parser.add_argument("--ptbxl", type=Path, default=None)
    parser.add_argument("--parts", nargs="+", default=["validation", "ds2", "fold10"])
    parser.add_argument("--fold9-normal", type=int, default=300)
    parser.add_argument("--fold10-normal", type=int, default=100_000)  # all
    parser.add_argument("--out", default="benchmarks/results/two_lead.json", type=Path)
    args = parser.parse_args()
    args.ptbxl = args.ptbxl or default_ptbxl_dir() or Path("../shared/data/ptbxl")
    if args.what == "train":
        train_seed(args)
    else:
        study(args)


SHIPPED = Path("models/recording_mixed")
SHIPPED_MEMBERS = Path("build/mixed/models")  # mixed_spec_ctx_v2{,_seed1,_seed2}


def candidate_models() -> dict[str, Any]:
    """The trained two-lead seeds, and their average when all three are there."""
    import keras

    from ecg.models.architectures import build_ensemble

    out = {}
    for seed in (0, 1, 2):
        name = NAME if seed == 0 else f"{NAME}_seed{seed}"
        path = OUT_DIR / "models" / f"{name}.keras"
        if path.is_file():
            out[f"two_lead_seed{seed}"] = keras.saving.load_model(path, compile=False)
    if len(out) == 3:
        members = [keras.saving.load_model(OUT_DIR / "models" / f"{n}.keras", compile=False)
                   for n in (NAME, f"{NAME}_seed1", f"{NAME}_seed2")]  # fmt: skip
        out["two_lead_ensemble"] = build_ensemble(members, name="two_lead_ensemble")
    return out


def shipped_members() -> dict[str, Any]:
    from ecg.models.bundle import load_bundle

    names = {0: "mixed_spec_ctx_v2", 1: "mixed_spec_ctx_v2_seed1", 2: "mixed_spec_ctx_v2_seed2"}
    return {
        f"shipped_seed{s}": load_bundle(SHIPPED_MEMBERS / f"{n}.keras") for s, n in names.items()
    }


def candidate_probs(
    bundle: Any, models: dict[str, Any], primary, second, fs: float, second_trained: bool
) -> dict[str, np.ndarray]:
    """The app's peaks and readable flags (as ``lead_fusion_study``), then each two-lead model on
    both leads ("<name>") and on the primary duplicated ("<name>/one_lead"). One
    ``beat_windows`` call per lead: ``classify_at`` pieces recordings by the hour, so for these
    (30 min at most) its one piece is the whole recording."""
    from ecg.dsp.detection import detect_beats
    from ecg.dsp.quality import beats_readable
    from ecg.recording_analysis import recording_quality
    from ecg.training.two_lead import two_lead_inputs

    peaks = detect_beats(primary, fs, second_lead=second)
    readable = beats_readable(recording_quality(primary, fs, peaks), peaks)
    kept, images, rr = two_lead_inputs(
        bundle, primary, second if second_trained else None, fs, peaks, readable=readable
    )
    one = np.repeat(images[..., :1], 2, axis=-1)
    out = {"samples": peaks[kept]}
    for name, model in models.items():
        for tag, imgs in ((name, images), (f"{name}/one_lead", one)):
            out[tag] = (
                np.asarray(model.predict({"image": imgs, "rr": rr}, batch_size=512, verbose=0))
                if len(imgs)
                else np.zeros((0, 6), np.float32)
            )
    return out


def shipped_fresh(bundles: dict[str, Any], primary, second, fs: float) -> dict[str, np.ndarray]:
    """The shipped path recomputed: each bundle on each lead at the app's peaks."""
    from lead_fusion_study import _app_path_probs

    out = {}
    for name, b in bundles.items():
        samples, p1, p2 = _app_path_probs(b, primary, second, fs)
        out.update({"samples_shipped": samples, f"{name}/p1": p1, f"{name}/p2": p2})
    return out


def mitdb_part(bundle, models, bundles, data_dir: Path, names, tag: str) -> dict[str, np.ndarray]:
    """Matched beats of MIT-BIH records: candidate probabilities, and the shipped path's (fresh
    from ``bundles``, or when empty the ``lead_fusion_study`` cache of the same code)."""
    import lead_fusion_study as lfs
    import wfdb

    from ecg.dsp.detection import match_to_reference
    from ecg.features.beats import labels_for
    from ecg.features.lead_fusion import fusion_applies
    from ecg.io.records import load_record
    from ecg.models.bundle import trained_leads

    path = OUT_DIR / "probs" / f"{tag}.npz"
    if path.is_file():
        return dict(np.load(path))
    leads_ok = trained_leads(bundle.metadata)
    parts: dict[str, list] = {}
    for name in names:
        started = time.perf_counter()
        raw = wfdb.rdrecord(str(data_dir / name), physical=True)
        sig = np.asarray(raw.p_signal.T, dtype=np.float32)
        leads = [str(s) for s in raw.sig_name]
        applies = fusion_applies(leads[1], leads_ok)
        got = candidate_probs(bundle, models, sig[0], sig[1], float(raw.fs), applies)
        if bundles:
            ship = shipped_fresh(bundles, sig[0], sig[1], float(raw.fs))
            if not np.array_equal(ship.pop("samples_shipped"), got["samples"]):
                raise RuntimeError(f"{name}: the two paths found different beats")
        else:
            cached = lfs.mitdb_record(bundle, data_dir, name)
            if not np.array_equal(cached["samples"], got["samples"]):
                raise RuntimeError(f"{name}: the cached shipped beats differ")
            ship = {"shipped/p1": cached["p1"], "shipped/p2": cached["p2"]}
        ref = load_record(data_dir, name, lead=leads[0])
        match = match_to_reference(ref.ann_samples, got["samples"], float(raw.fs))
        y = np.full(len(got["samples"]), -1, np.int64)
        y[match >= 0] = labels_for(ref.ann_symbols, "six")[match[match >= 0]]
        keep = y >= 0
        row = {k: v[keep] for k, v in {**got, **ship}.items()}
        row.update(y=y[keep], records=np.full(int(keep.sum()), name),
                   applies=np.full(int(keep.sum()), applies))  # fmt: skip
        for k, v in row.items():
            parts.setdefault(k, []).append(v)
        print(f"{name}: {int(keep.sum())} beats, second {leads[1]} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    out = {k: np.concatenate(v) for k, v in parts.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def ptbxl_part(bundle, models, bundles, data_dir: Path, fold: int, max_normal: int, tag: str):
    """``lead_fusion_study.ptbxl_fold``'s records (II primary, V1 second), same skips."""
    import lead_fusion_study as lfs

    from ecg.io.ptbxl import conducted_beat_label, load_ptbxl_record

    path = OUT_DIR / "probs" / f"{tag}.npz"
    if path.is_file():
        return dict(np.load(path))
    chosen = lfs.ptbxl_fold_records(data_dir, fold, max_normal)
    parts: dict[str, list] = {}
    for ecg_id, row in chosen.iterrows():
        ii = load_ptbxl_record(data_dir, int(ecg_id), lead="II")
        v1 = load_ptbxl_record(data_dir, int(ecg_id), lead="V1")
        try:
            got = candidate_probs(bundle, models, ii.signal, v1.signal, ii.fs, True)
            if bundles:
                ship = shipped_fresh(bundles, ii.signal, v1.signal, ii.fs)
                ship.pop("samples_shipped")
        except Exception as exc:  # noqa: BLE001 -- skipped as lead_fusion_study skips it
            print(f"ptbxl{ecg_id}: skipped ({type(exc).__name__}: {exc})", flush=True)
            continue
        n = len(got["samples"])
        if n < 3:
            continue
        row_out = {**got, **(ship if bundles else {})}
        row_out.update(
            y=np.full(n, bundle.classes.index(conducted_beat_label(row["scp_codes"]))),
            records=np.full(n, f"ptbxl{ecg_id}"),
            patients=np.full(n, str(int(row["patient_id"]))),
        )
        for k, v in row_out.items():
            parts.setdefault(k, []).append(v)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    if not bundles:  # the lead_fusion_study cache of the same records and beats
        cached = lfs.ptbxl_fold(bundle, data_dir, fold, max_normal)
        if not np.array_equal(cached["records"], out["records"]):
            raise RuntimeError(f"fold {fold}: the cached shipped beats differ")
        out.update({"shipped/p1": cached["p1"], "shipped/p2": cached["p2"]})
    out["applies"] = np.ones(len(out["y"]), bool)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def fused_mean(d: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The shipped fused path: mean of both leads where the second lead is a trained one."""
    p1, p2 = d[f"{name}/p1"], d[f"{name}/p2"]
    return np.where(d["applies"][:, None], (p1 + p2) / 2.0, p1)


def paths_of(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every path's probabilities on this part: shipped fused / primary-only, candidates."""
    out = {}
    for key in d:
        if key.endswith("/p1"):
            name = key[: -len("/p1")]
            out[f"{name} fused (mean)"] = fused_mean(d, name)
            out[f"{name} primary only"] = d[key]
        elif key.startswith("two_lead"):
            out[key] = d[key]
    return out


def objective_table(sources: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    from ecg.training.metrics import confusion_matrix, macro_f1

    scores: dict[str, Any] = {}
    per = {n: paths_of(d) for n, d in sources.items()}
    for path in next(iter(per.values())):
        f1 = {}
        for n, d in sources.items():
            cm = confusion_matrix(d["y"], per[n][path].argmax(1), 6)
            f1[n] = round(macro_f1(cm), 4)
        scores[path] = {"objective": round(float(np.mean(list(f1.values()))), 4), "macro_f1": f1}
    return scores


def decide(scores: dict[str, Any]) -> dict[str, Any]:
    """The rule of the module docstring applied to the validation scores."""
    base = scores["shipped fused (mean)"]["objective"]
    if "two_lead_ensemble" in scores:
        cand = scores["two_lead_ensemble"]["objective"]
        ships = cand > base + MARGIN
        return {
            "compared": "two-lead 3-seed ensemble vs shipped 3-seed ensemble, fused (mean)",
            "candidate_objective": cand,
            "baseline_objective": base,
            "margin": MARGIN,
            "ships": bool(ships),
        }
    pairs = {}
    for seed in (0, 1, 2):
        c, b = f"two_lead_seed{seed}", f"shipped_seed{seed} fused (mean)"
        if c in scores and b in scores:
            pairs[seed] = [scores[c]["objective"], scores[b]["objective"]]
    return {
        "compared": "fewer than three two-lead seeds: each against the shipped member of the "
        "same seed (fused, mean); nothing ships by the rule",
        "pairs_candidate_vs_shipped_member": pairs,
        "baseline_objective": base,
        "ships": False,
    }


def reported(d: dict[str, np.ndarray], groups: str, record_level: bool) -> dict[str, Any]:
    import lead_fusion_study as lfs

    from ecg.training.aami import SIX_TO_AAMI

    classes = ["L", "N", "A", "V", "R", "!"]
    out = {}
    for path, probs in paths_of(d).items():
        e = lfs.beat_figures(d["y"], probs, d[groups], classes)
        for f in e["per_class"].values():
            se, pp = f["Se"], f["+P"]
            f["F1"] = round(2 * se * pp / (se + pp), 4) if se and pp else 0.0
        if record_level:
            e["record_level"] = lfs.record_f1(d, probs, classes)
        else:
            aami = np.array([SIX_TO_AAMI[c] for c in classes])
            truth, pred = aami[d["y"]], aami[probs.argmax(1)]
            for code in ("VEB", "SVEB"):
                tp = int(((truth == code) & (pred == code)).sum())
                e[code] = {
                    "Se": lfs._r(tp / max(1, (truth == code).sum())),
                    "+P": lfs._r(tp / max(1, (pred == code).sum())),
                    "support": int((truth == code).sum()),
                }
            e["per_record_se"] = lfs.per_record_se(d, probs, classes)
        e["confusion"] = lfs.confusion_of(d["y"], probs, classes)
        out[path] = e
    return out


def compute(bundle: Any, model: Any, data_dir: Path, name: str = "212", minutes: float = 10.0):
    """Wall time per beat of the two paths on the first ``minutes`` of a record (best of 3, the
    Keras models, shared cores): the shipped fused path (``classify_at`` on each lead) against
    the two-lead model (``two_lead_inputs`` and one prediction). Peak detection excluded."""
    import wfdb

    from ecg.dsp.detection import detect_beats
    from ecg.recording_analysis import classify_at
    from ecg.training.two_lead import two_lead_inputs

    raw = wfdb.rdrecord(str(data_dir / name), physical=True)
    fs = float(raw.fs)
    sig = np.asarray(raw.p_signal.T[:, : int(minutes * 60 * fs)], dtype=np.float32)
    peaks = detect_beats(sig[0], fs, second_lead=sig[1])

    def fused() -> None:
        classify_at(bundle, sig[0], fs, peaks)
        classify_at(bundle, sig[1], fs, peaks)

    def two_lead() -> None:
        _, images, rr = two_lead_inputs(bundle, sig[0], sig[1], fs, peaks)
        model.predict({"image": images, "rr": rr}, batch_size=512, verbose=0)

    out: dict[str, Any] = {"record": name, "minutes": minutes, "beats": int(len(peaks))}
    for label, run in (("shipped_fused", fused), ("two_lead", two_lead)):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
        out[label] = {
            "seconds_best_of_3": round(min(times), 2),
            "beats_per_second": round(len(peaks) / min(times), 0),
        }
    out["network_calls_per_beat"] = {"shipped_fused": 2, "two_lead": 1}
    out["images_drawn_per_beat"] = {"shipped_fused": 2, "two_lead": 2}
    return out


def study(args: argparse.Namespace) -> None:
    import datetime as dt
    import subprocess

    from ecg.classes import DS2_RECORDS
    from ecg.models.bundle import load_bundle
    from ecg.training.dataset import DS1_VALIDATION_RECORDS

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    bundle = load_bundle(SHIPPED)
    models = candidate_models()
    if not models:
        raise SystemExit("no two-lead model trained yet (run the train step)")
    result: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    result.update(
        about=__doc__.split("\n\n")[2].strip(),
        selection_rule=__doc__.split("Selection rule")[1].split("Only reported")[0].strip(),
        candidates=sorted(models),
        code_version=subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    tag = "+".join(sorted(models))
    if "validation" in args.parts:
        bundles = {"shipped": bundle}
        if "two_lead_ensemble" not in models:
            bundles.update(shipped_members())
        sources = {
            "mitdb_ds1_validation": mitdb_part(
                bundle, models, bundles, args.mitdb, DS1_VALIDATION_RECORDS, f"val_mitdb_{tag}"
            ),
            "ptbxl_fold9": ptbxl_part(
                bundle, models, bundles, args.ptbxl, 9, args.fold9_normal, f"val_ptbxl_{tag}"
            ),
        }
        scores = objective_table(sources)
        result["validation"] = {
            "scores": scores,
            "decision": decide(scores),
            "beats": {n: int(len(d["y"])) for n, d in sources.items()},
        }
        print(json.dumps(result["validation"], indent=1), flush=True)
    if "ds2" in args.parts:
        d = mitdb_part(bundle, models, {}, args.mitdb, DS2_RECORDS, f"ds2_{tag}")
        result["ds2"] = reported(d, "records", record_level=False)
    if "fold10" in args.parts:
        d = ptbxl_part(bundle, models, {}, args.ptbxl, 10, args.fold10_normal, f"fold10_{tag}")
        d = {**d, "records_or_patients": d["patients"]}
        result["ptbxl_fold10"] = reported(d, "records_or_patients", record_level=True)
        result["ptbxl_fold10_records"] = int(len(np.unique(d["records"])))
    if "compute" in args.parts:
        best = models.get("two_lead_ensemble") or next(iter(models.values()))
        result["compute"] = compute(bundle, best, args.mitdb)
        print(json.dumps(result["compute"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()

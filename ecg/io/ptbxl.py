"""PTB-XL (Wagner et al. 2020): ten-second 12-lead ECGs of 18,885 patients, labelled per record.

Reads the label table (``ptbxl_database.csv``) and single leads of its WFDB records through the
same reader as MIT-BIH (``records.load_record``), so lead choice, physical units and gap handling
are shared. Records carry no beat annotations: ``conducted_beat_label`` is the one documented
rule that turns a record's SCP-ECG statements into the class of its conducted beats.

The data directory defaults to ``../shared/data/ptbxl`` beside the project (``$PTBXL_DIR``
overrides it); PhysioNet publishes the database at https://physionet.org/content/ptb-xl/1.0.1/.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ecg.io.records import PROJECT_ROOT, Record, RecordError, load_record

SHARED_PTBXL = PROJECT_ROOT.parent / "shared" / "data" / "ptbxl"
TABLE = "ptbxl_database.csv"
REQUIRED_COLUMNS = ("patient_id", "scp_codes", "strat_fold", "filename_lr")
NOISE_COLUMNS = ("baseline_drift", "static_noise", "burst_noise", "electrodes_problems")
# The dataset's own patient-wise protocol: folds 1-8 train, 9 validation, 10 test.
TRAIN_FOLDS = tuple(range(1, 9))
VALIDATION_FOLD = 9
TEST_FOLD = 10

# -- the beat-label rule ------------------------------------------------------------------------
# Statements that make a record's conducted beats unusable as L, R or N: pacing and pre-excitation
# change every QRS; incomplete blocks and non-specific delays are neither normal nor complete
# blocks, so they stay out of all three classes rather than blur them.
EXCLUDED = frozenset({"PACE", "WPW", "IRBBB", "ILBBB", "IVCD"})
# Statements under which a record is not "normal conduction and no ectopy" even if NORM is coded.
NOT_NORMAL = EXCLUDED | frozenset(
    {
        "CLBBB", "CRBBB", "LAFB", "LPFB", "1AVB", "2AVB", "3AVB",
        "PVC", "PAC", "BIGU", "TRIGU", "AFIB", "AFLT", "SVTAC", "PSVT", "SVARR",
    }
)  # fmt: skip
ECTOPY = frozenset({"PVC", "PAC", "BIGU", "TRIGU"})

BEAT_LABEL_RULES: tuple[tuple[str, str], ...] = (
    ("L", "CLBBB present, CRBBB absent, none of PACE / WPW / IRBBB / ILBBB / IVCD"),
    ("R", "CRBBB present, CLBBB absent, none of PACE / WPW / IRBBB / ILBBB / IVCD"),
    ("N", "NORM present, and no conduction, ectopy or arrhythmia statement"),
    ("-", "anything else: the record gives no conducted-beat label"),
)
"""The rule, as a table for the docs and the report (``conducted_beat_label`` implements it).

A record with PVC / PAC statements keeps its conducted-beat label: those statements say only
that at least one ectopic beat occurs in the ten seconds, so the data set builder keeps the
record's dominant beats and leaves its premature, differently shaped beats out (``has_ectopy``).
"""


def default_ptbxl_dir() -> Path | None:
    """``$PTBXL_DIR`` if set, else ``../shared/data/ptbxl`` beside the project when it exists."""
    env = os.environ.get("PTBXL_DIR")
    if env:
        return Path(env)
    return SHARED_PTBXL if SHARED_PTBXL.is_dir() else None


# PhysioNet's copy of the version this project was built on, and the tables beside its records.
PHYSIONET_PTBXL = "ptb-xl/1.0.1"
PTBXL_TABLES = (TABLE, "scp_statements.csv")
PARTIAL_DIR = ".download"


def download_ptbxl(dest: str | Path, *, limit: int | None = None) -> Path:
    """Fetch PTB-XL 1.0.1 from PhysioNet into ``dest``: its two tables and its 100 Hz records
    (``records100/``, the only rate the project reads: 12 leads x 1,000 samples x 21,837
    records, about 0.5 GB). Needs the internet.

    Files already in ``dest`` are kept (wfdb skips complete ones), so an interrupted download
    resumes. The tables are fetched into ``dest/.download`` first and moved into place only
    when every record is there: a folder with ``ptbxl_database.csv`` is a complete one.
    ``limit`` fetches only the first records (a smoke test of the connection).
    """
    import wfdb

    dest = Path(dest)
    partial = dest / PARTIAL_DIR
    partial.mkdir(parents=True, exist_ok=True)
    try:
        wfdb.dl_files(PHYSIONET_PTBXL, str(partial), list(PTBXL_TABLES))
        names = pd.read_csv(partial / TABLE, usecols=["filename_lr"])["filename_lr"].tolist()
        wfdb.dl_database(
            PHYSIONET_PTBXL, str(dest), records=names[:limit] if limit else names, annotators=None
        )
    except (OSError, ValueError, KeyError) as exc:  # requests' errors are OSErrors
        raise RecordError(
            f"could not download PTB-XL from PhysioNet into {dest} ({exc}); run the command "
            "again to resume, or get it by hand from https://physionet.org/content/ptb-xl/1.0.1/"
        ) from exc
    for name in PTBXL_TABLES:
        (partial / name).replace(dest / name)
    partial.rmdir()
    return dest


def load_ptbxl_table(data_dir: str | Path) -> pd.DataFrame:
    """The label table, one row per record (index ``ecg_id``), ``scp_codes`` parsed to dicts."""
    path = Path(data_dir) / TABLE
    if not path.is_file():
        raise RecordError(f"{path}: PTB-XL label table not found")
    try:
        table = pd.read_csv(path, index_col="ecg_id")
    except (ValueError, pd.errors.ParserError) as exc:
        raise RecordError(f"{path}: cannot read the label table ({exc})") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise RecordError(f"{path}: columns missing: {', '.join(missing)}")
    try:
        table["scp_codes"] = table["scp_codes"].map(_statements)
    except (ValueError, SyntaxError) as exc:
        raise RecordError(f"{path}: malformed scp_codes ({exc})") from exc
    table["patient_id"] = table["patient_id"].astype("int64")
    return table


def _statements(text: str) -> dict[str, float]:
    codes = ast.literal_eval(text)
    if not isinstance(codes, dict):
        raise ValueError(f"not a dict: {text!r}")
    return {str(k): float(v) for k, v in codes.items()}


def conducted_beat_label(statements: Iterable[str]) -> str | None:
    """The class of a record's conducted beats under ``BEAT_LABEL_RULES``, or None."""
    codes = set(statements)
    if codes & EXCLUDED:
        return None
    lbbb, rbbb = "CLBBB" in codes, "CRBBB" in codes
    if lbbb != rbbb:
        return "L" if lbbb else "R"
    if not lbbb and "NORM" in codes and not codes & NOT_NORMAL:
        return "N"
    return None


def has_ectopy(statements: Iterable[str]) -> bool:
    """Whether the record says it holds premature beats somewhere in its ten seconds."""
    return bool(set(statements) & ECTOPY)


def has_noise_note(row: pd.Series) -> bool:
    """Whether PTB-XL's annotators noted drift, noise or electrode problems on the record."""
    return any(isinstance(row.get(c), str) and row.get(c).strip(" ,") for c in NOISE_COLUMNS)


def ptbxl_splits(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Train (folds 1-8), validation (9) and test (10); refuses a patient in two splits."""
    splits = {
        "train": table[table["strat_fold"].isin(TRAIN_FOLDS)],
        "validation": table[table["strat_fold"] == VALIDATION_FOLD],
        "test": table[table["strat_fold"] == TEST_FOLD],
    }
    seen: dict[int, str] = {}
    for name, part in splits.items():
        for patient in part["patient_id"].unique().tolist():
            if seen.setdefault(patient, name) != name:
                raise RecordError(f"patient {patient} is in both {seen[patient]} and {name}")
    return splits


def label_summary(table: pd.DataFrame) -> list[dict[str, int | str]]:
    """Records and patients each rule yields, per split: the figures the report quotes."""
    labels = table["scp_codes"].map(conducted_beat_label).fillna("-")
    rows = []
    for split, part in ptbxl_splits(table.assign(label=labels)).items():
        for label, _ in BEAT_LABEL_RULES:
            chosen = part[part["label"] == label]
            rows.append(
                {
                    "split": split,
                    "label": label,
                    "records": int(len(chosen)),
                    "patients": int(chosen["patient_id"].nunique()),
                    "with_ectopy": int(chosen["scp_codes"].map(has_ectopy).sum()),
                }
            )
    return rows


def load_ptbxl_record(data_dir: str | Path, ecg_id: int, *, lead: str = "II") -> Record:
    """One lead of PTB-XL record ``ecg_id`` (100 Hz files), in mV, named ``ptbxl<ecg_id>``."""
    relative = f"records100/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_lr"
    record = load_record(data_dir, relative, lead=lead, annotations=False)
    record.name = f"ptbxl{ecg_id}"
    return record

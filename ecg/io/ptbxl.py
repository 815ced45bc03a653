"""PTB-XL (Wagner et al. 2020): ten-second 12-lead ECGs of 18,885 patients, labelled per record.

Reads the label table (``ptbxl_database.csv``) and single leads of its WFDB records through the
same reader as MIT-BIH (``records.load_record``), so lead choice, physical units and gap handling
are shared. Records carry no beat annotations: ``conducted_beat_label`` is the one documented
rule that turns a record's SCP-ECG statements into the class of its conducted beats.

The data directory defaults to ``../shared/data/ptbxl`` beside the project (``$PTBXL_DIR``
overrides it); PhysioNet publishes the database at https://physionet.org/content/ptb-xl/1.0.1/,
and ``download_ptbxl`` fetches its label tables and 100 Hz records from there.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
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


def noise_note_groups(table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per record of ``table``: whether it has a noise note (``has_noise_note``) and whether
    every beat may take its record's label (a conducted-beat label, no ectopy): the records a
    noise study compares."""
    noted = table.apply(has_noise_note, axis=1).astype(bool)
    usable = table["scp_codes"].map(conducted_beat_label).notna()
    usable &= ~table["scp_codes"].map(has_ectopy).astype(bool)
    return noted, usable


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


# -- download from PhysioNet ---------------------------------------------------------------------
PTBXL_DATABASE = "ptb-xl"
PTBXL_VERSION = (
    "1.0.1"  # the version the label rule, the splits and the shipped model were built on
)
DOWNLOAD_TABLES = (TABLE, "scp_statements.csv")
DOWNLOAD_WORKERS = 2  # parallel requests, as wfdb.dl_files uses (PhysioNet asks for restraint)


def download_ptbxl(
    dest: str | Path | None = None,
    *,
    limit: int | None = None,
    fetch: Callable[[str, str], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Fetch PTB-XL 1.0.1 from PhysioNet into ``dest`` (default: ``$PTBXL_DIR``, else
    ``../shared/data/ptbxl``, where the readers look): ``ptbxl_database.csv``,
    ``scp_statements.csv`` and the 100 Hz records (``records100/NNNNN/EEEEE_lr.dat/.hea``, all
    12 leads; the first ``limit`` of the table with ``limit``), plus a ``RECORDS`` list. About
    0.5 GB, 43,676 files; it needs the internet.

    Resumable: a file already there is skipped. Nothing is half-written: each file is fetched
    to ``<name>.part`` (``fetch(url, path)``, by default ``wfdb``'s ``dl_full_file``) and
    renamed into place once complete, a record's ``.dat`` before its ``.hea`` (a header found
    means its signal is whole). A failed or interrupted download leaves only complete files
    (its ``.part`` is removed) and raises ``RecordError`` saying what failed and to run again."""
    from wfdb.io import download as wfdb_download

    fetch = fetch or wfdb_download.dl_full_file
    dest = Path(dest) if dest else (default_ptbxl_dir() or SHARED_PTBXL)
    base = f"{wfdb_download.config.db_index_url.rstrip('/')}/{PTBXL_DATABASE}/{PTBXL_VERSION}/"
    say = progress or (lambda _message: None)

    def get(relative: str) -> int:
        target = dest / relative
        if target.is_file():
            return 0
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        try:
            fetch(base + relative, str(part))
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return 1

    def record(name: str) -> int:
        return get(f"{name}.dat") + get(f"{name}.hea")

    try:
        dest.mkdir(parents=True, exist_ok=True)
        fetched = sum(get(name) for name in DOWNLOAD_TABLES)
        names = [str(n) for n in load_ptbxl_table(dest)["filename_lr"]][:limit]
        say(f"PTB-XL {PTBXL_VERSION}: {len(names)} records into {dest} (files there are kept)")
        with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
            fetched += sum(pool.map(record, names))
        listing = dest / "RECORDS"
        if not listing.is_file() or limit is None:
            part = listing.with_name("RECORDS.part")
            part.write_text("".join(f"{n}\n" for n in names))
            os.replace(part, listing)
    except OSError as exc:  # offline, refused, not found, disk full (requests' errors are OSError)
        raise RecordError(
            f"could not download PTB-XL {PTBXL_VERSION} from {base} ({exc.__class__.__name__}: "
            f"{exc}); is this machine online? Files already complete in {dest} are kept: run "
            "again to resume"
        ) from exc
    say(f"PTB-XL: {fetched} files downloaded, the rest were there")
    return dest

"""Reading ECG records from disk (WFDB) -- I/O only, no signal processing beyond picking a lead."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_MITDB = PROJECT_ROOT.parent / "shared" / "data" / "mitdb"
PREFERRED_LEAD = "MLII"
# An upload's lead, when the user names none: the first of these it has (the leads the shipped
# recording model was trained on, MIT-BIH's MLII first; III, trained since the four-lead model,
# appended so that no recording that had one of the others changes its lead; the validation
# figures per lead, benchmarks/results/ptbxl_leads_study.json, do not rank the leads the same way
# on both databases), else its first column with a warning.
PREFERRED_LEADS = ("MLII", "II", "V1", "V5", "III")
# The second lead read beside the analysed one when the recording has it (bundle branch blocks
# are read on V1): the analysis's choice (``recording_analysis.second_lead_index``) and the
# stored order (``lead_choice.stored_lead_order``) both put it first.
SECOND_LEAD_FIRST = "V1"
# Names of one lead: MIT-BIH's "modified lead II" is read as lead II.
_SAME_LEAD = {"ML2": "II", "MLII": "II"}


def normalised_lead(name: str) -> str:
    """A lead name compared across files: "Lead II", "ii", "MLII" and "ML2" all read "II".
    Every comparison of lead names goes through it (the upload's lead choice, the lead warning,
    fusion's and the conduction finding's trained leads), so that no two disagree on a name."""
    bare = str(name).strip().upper().replace(" ", "").replace("LEAD", "")
    return _SAME_LEAD.get(bare, bare)


class RecordError(ValueError):
    """A record that is missing, malformed or incomplete; the message names the file."""


@dataclass
class Record:
    """One lead of a record, in physical units (mV), with its reference annotations if any."""

    name: str
    signal: np.ndarray  # shape (n_samples,), float32, mV
    fs: float
    lead: str
    ann_samples: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    ann_symbols: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="<U2"))

    @property
    def duration_s(self) -> float:
        return len(self.signal) / self.fs


def default_data_dir() -> Path | None:
    """``$ECG_DATA_DIR`` if set, else ``../shared/data/mitdb`` beside the project when it exists."""
    env = os.environ.get("ECG_DATA_DIR")
    if env:
        return Path(env)
    return SHARED_MITDB if SHARED_MITDB.is_dir() else None


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data directory to use, or a clear error saying how to get one."""
    path = Path(data_dir) if data_dir else default_data_dir()
    if path is None:
        raise RecordError(
            "no data directory given and ../shared/data/mitdb does not exist; "
            "pass --data-dir or use --download to fetch MIT-BIH from PhysioNet"
        )
    if not path.is_dir():
        raise RecordError(f"data directory {path} does not exist")
    return path


def download_mitdb(dest: str | Path) -> Path:
    """Fetch the MIT-BIH Arrhythmia Database from PhysioNet into ``dest`` (needs the internet)."""
    import wfdb

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    wfdb.dl_database("mitdb", dl_dir=str(dest))
    return dest


def list_records(data_dir: str | Path) -> list[str]:
    """Record names in a WFDB directory: its RECORDS file, else every ``*.hea``."""
    data_dir = Path(data_dir)
    listing = data_dir / "RECORDS"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    else:
        names = sorted(p.stem for p in data_dir.glob("*.hea"))
    if not names:
        raise RecordError(f"no WFDB records (*.hea) found in {data_dir}")
    return names


def choose_lead(sig_names: list[str], lead: str | int | None, *, header: str) -> int:
    """Index of the lead to use: by name (MLII by default, case-insensitive) or by index.

    MLII is missing from a few MIT-BIH records (102 and 104 are V5/V2): asking for MLII there is an
    explicit error naming the leads present, rather than a silent switch to another lead.
    """
    if isinstance(lead, int):
        if not 0 <= lead < len(sig_names):
            raise RecordError(f"{header}: lead index {lead} out of range (leads: {sig_names})")
        return lead
    wanted = (lead or PREFERRED_LEAD).upper()
    for index, name in enumerate(sig_names):
        if name.upper() == wanted:
            return index
    raise RecordError(f"{header}: lead {wanted} not found (leads: {', '.join(sig_names)})")


def load_record(
    data_dir: str | Path,
    name: str,
    *,
    lead: str | int | None = PREFERRED_LEAD,
    annotations: bool = True,
) -> Record:
    """Read one lead of a WFDB record (at its own sampling rate) and its ``atr`` annotations."""
    import wfdb

    base = Path(data_dir) / name
    header = base.with_suffix(".hea")
    if not header.is_file():
        raise RecordError(f"{header}: record header not found")
    try:
        meta = wfdb.rdheader(str(base))
        index = choose_lead(list(meta.sig_name or []), lead, header=str(header))
        raw = wfdb.rdrecord(str(base), channels=[index], physical=True)
    except RecordError:
        raise
    except Exception as exc:  # wfdb raises many types for bad files; name the file in one place
        raise RecordError(f"{header}: cannot read record ({exc})") from exc
    signal = np.asarray(raw.p_signal[:, 0], dtype=np.float32)
    if signal.size == 0:
        raise RecordError(f"{header}: record has no samples")
    if not np.all(np.isfinite(signal)):
        # WFDB marks missing samples as NaN; short gaps are bridged so filters stay defined.
        signal = _fill_gaps(signal, header=str(header))
    record = Record(name=name, signal=signal, fs=float(raw.fs), lead=raw.sig_name[0])
    if annotations:
        atr = base.with_suffix(".atr")
        if not atr.is_file():
            raise RecordError(f"{atr}: reference annotation file not found")
        try:
            ann = wfdb.rdann(str(base), "atr")
        except Exception as exc:
            raise RecordError(f"{atr}: cannot read annotations ({exc})") from exc
        record.ann_samples = np.asarray(ann.sample, dtype=np.int64)
        record.ann_symbols = np.asarray(ann.symbol, dtype="<U2")
    return record


def _fill_gaps(signal: np.ndarray, *, header: str) -> np.ndarray:
    finite = np.isfinite(signal)
    if finite.mean() < 0.5:
        raise RecordError(f"{header}: more than half of the samples are missing")
    index = np.arange(signal.size)
    return np.interp(index, index[finite], signal[finite]).astype(np.float32)

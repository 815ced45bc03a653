"""LUDB (Kalyakulina et al. 2020): 200 ten-second 12-lead ECGs at 500 Hz with cardiologists'
P, QRS and T boundaries on every lead and the diagnoses in each header.

The product never trains on LUDB: it is the external test set, and the reference for the QRS
bounds the record-context features measure. Each lead's delineation is a WFDB annotation file
named after the lead (``1.ii``, ``1.v1``): triplets ``(`` onset, a wave symbol (``p``, ``N``,
``t``) at the peak, ``)`` offset.

The data directory defaults to ``../shared/data/ludb`` beside the project (``$LUDB_DIR``
overrides it); PhysioNet publishes the database at https://physionet.org/content/ludb/1.0.1/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecg.io.records import PROJECT_ROOT, RecordError, list_records, load_record

SHARED_LUDB = PROJECT_ROOT.parent / "shared" / "data" / "ludb"
LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
WAVES = {"p": "p", "N": "qrs", "t": "t"}  # annotation symbol at the peak -> wave


@dataclass
class Delineation:
    """Per wave, an ``(n, 3)`` int array of onset, peak and offset samples, in time order."""

    p: np.ndarray = field(default_factory=lambda: np.empty((0, 3), np.int64))
    qrs: np.ndarray = field(default_factory=lambda: np.empty((0, 3), np.int64))
    t: np.ndarray = field(default_factory=lambda: np.empty((0, 3), np.int64))


@dataclass
class LudbRecord:
    name: str
    signal: np.ndarray  # one lead, float32 mV
    fs: float
    lead: str
    delineation: Delineation
    diagnoses: list[str]  # the header's diagnosis lines, e.g. "Rhythm: Sinus rhythm."

    def has_diagnosis(self, text: str) -> bool:
        """Case-insensitive search of the diagnosis lines (e.g. "left bundle branch block")."""
        return any(text.lower() in line.lower() for line in self.diagnoses)


def default_ludb_dir() -> Path | None:
    """``$LUDB_DIR`` if set, else ``../shared/data/ludb`` beside the project when it exists."""
    env = os.environ.get("LUDB_DIR")
    if env:
        return Path(env)
    return SHARED_LUDB if SHARED_LUDB.is_dir() else None


def records_dir(data_dir: str | Path) -> Path:
    """PhysioNet's layout keeps the records in ``data/``; a flat folder works too."""
    data_dir = Path(data_dir)
    return data_dir / "data" if (data_dir / "data").is_dir() else data_dir


def list_ludb_records(data_dir: str | Path) -> list[str]:
    names = list_records(records_dir(data_dir))
    return sorted((n.split("/")[-1] for n in names), key=lambda n: (len(n), n))


def parse_delineation(samples: np.ndarray, symbols: list[str], *, where: str) -> Delineation:
    """Triplets ``(``, wave, ``)`` into onset/peak/offset arrays per wave.

    A wave cut by the record's edge may lack its ``(`` or ``)``: it is skipped, since its
    duration is unknown. Anything else out of order is a malformed file.
    """
    found: dict[str, list[tuple[int, int, int]]] = {wave: [] for wave in WAVES.values()}
    i = 0
    while i < len(symbols):
        if symbols[i] == "(" and i + 2 < len(symbols) and symbols[i + 2] == ")":
            wave = WAVES.get(symbols[i + 1])
            if wave is None:
                raise RecordError(f"{where}: unknown wave symbol {symbols[i + 1]!r}")
            found[wave].append((int(samples[i]), int(samples[i + 1]), int(samples[i + 2])))
            i += 3
        elif symbols[i] in WAVES or symbols[i] in "()":
            i += 1  # a wave cut by the record's edge
        else:
            raise RecordError(f"{where}: unexpected annotation symbol {symbols[i]!r}")
    arrays = {k: np.array(v, dtype=np.int64).reshape(-1, 3) for k, v in found.items()}
    return Delineation(**arrays)


def load_ludb_record(data_dir: str | Path, name: str, *, lead: str = "ii") -> LudbRecord:
    """One lead of LUDB record ``name`` with that lead's delineation and the diagnoses."""
    import wfdb

    lead = lead.lower()
    if lead not in LEADS:
        raise RecordError(f"LUDB has no lead {lead!r} (leads: {', '.join(LEADS)})")
    folder = records_dir(data_dir)
    record = load_record(folder, name, lead=lead, annotations=False)
    annotation = folder / f"{name}.{lead}"
    if not annotation.is_file():
        raise RecordError(f"{annotation}: delineation file not found")
    try:
        ann = wfdb.rdann(str(folder / name), lead)
        header = wfdb.rdheader(str(folder / name))
    except Exception as exc:  # wfdb raises many types for bad files; name the file
        raise RecordError(f"{annotation}: cannot read the delineation ({exc})") from exc
    delineation = parse_delineation(
        np.asarray(ann.sample, np.int64), list(ann.symbol), where=str(annotation)
    )
    comments = [c.strip() for c in (header.comments or [])]
    diagnoses = comments[comments.index("<diagnoses>:") + 1 :] if "<diagnoses>:" in comments else []
    return LudbRecord(
        name=name,
        signal=record.signal,
        fs=record.fs,
        lead=record.lead,
        delineation=delineation,
        diagnoses=[d for d in diagnoses if d],
    )

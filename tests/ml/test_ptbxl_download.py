"""PTB-XL fetched from PhysioNet (issue 17): what is asked for, where it lands, and that an
interrupted or offline download leaves no folder that looks complete. No network: wfdb's
download functions are replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import wfdb
from django.core.management import call_command
from django.core.management.base import CommandError

from ecg.io.ptbxl import PARTIAL_DIR, PHYSIONET_PTBXL, TABLE, download_ptbxl
from ecg.io.records import RecordError

NAMES = ["records100/00000/00001_lr", "records100/00000/00002_lr", "records100/00000/00003_lr"]


@pytest.fixture
def fake_physionet(monkeypatch):
    asked: dict = {"files": [], "database": []}

    def dl_files(db, dl_dir, files, keep_subdirs=True, overwrite=False):
        asked["files"].append((db, dl_dir, list(files)))
        rows = "\n".join(
            f"{i + 1},{i + 1},\"{{'NORM': 100.0}}\",1,{n}" for i, n in enumerate(NAMES)
        )
        (Path(dl_dir) / TABLE).write_text(
            f"ecg_id,patient_id,scp_codes,strat_fold,filename_lr\n{rows}\n"
        )
        (Path(dl_dir) / "scp_statements.csv").write_text(",description\nNORM,normal ECG\n")

    def dl_database(db_dir, dl_dir, records="all", annotators="all", keep_subdirs=True,
                    overwrite=False):  # fmt: skip
        asked["database"].append((db_dir, dl_dir, list(records), annotators))
        for name in records:
            path = Path(dl_dir) / f"{name}.hea"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("header")

    monkeypatch.setattr(wfdb, "dl_files", dl_files)
    monkeypatch.setattr(wfdb, "dl_database", dl_database)
    return asked


def test_download_asks_physionet_for_the_tables_and_the_100_hz_records(tmp_path, fake_physionet):
    dest = download_ptbxl(tmp_path / "ptbxl")
    assert fake_physionet["files"][0][0] == PHYSIONET_PTBXL == "ptb-xl/1.0.1"
    assert fake_physionet["files"][0][2] == [TABLE, "scp_statements.csv"]
    db, where, records, annotators = fake_physionet["database"][0]
    assert (db, Path(where), records, annotators) == (PHYSIONET_PTBXL, dest, NAMES, None)
    assert (dest / TABLE).is_file() and (dest / "scp_statements.csv").is_file()
    assert (dest / "records100/00000/00002_lr.hea").is_file()
    assert not (dest / PARTIAL_DIR).exists()  # the tables were moved into place at the end
    assert (
        download_ptbxl(tmp_path / "few", limit=2) and fake_physionet["database"][1][2] == NAMES[:2]
    )


def test_offline_is_a_clear_error_and_no_folder_looks_complete(
    tmp_path, monkeypatch, fake_physionet
):
    def offline(*args, **kwargs):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(wfdb, "dl_database", offline)
    with pytest.raises(RecordError, match="could not download PTB-XL.*run the command again"):
        download_ptbxl(tmp_path / "ptbxl")
    assert not (tmp_path / "ptbxl" / TABLE).exists()  # the tables wait in .download


def test_train_mixed_download_fetches_a_missing_ptbxl_and_says_so(tmp_path, monkeypatch):
    calls = []

    def fake_download(target, **kwargs):
        calls.append(Path(target))
        raise RecordError("could not download PTB-XL from PhysioNet (offline)")

    monkeypatch.setattr("classifier.management.commands.train_mixed.download_ptbxl", fake_download)
    monkeypatch.setattr(
        "classifier.management.commands.train_mixed.data_dir_from", lambda options: tmp_path
    )
    with pytest.raises(CommandError, match="could not download PTB-XL"):
        call_command("train_mixed", "--quick", "--download", ptbxl_dir=str(tmp_path / "p"),
                     out=str(tmp_path / "out"))  # fmt: skip
    assert calls == [tmp_path / "p"] and not (tmp_path / "out").exists()

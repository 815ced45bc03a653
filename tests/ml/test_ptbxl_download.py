"""PTB-XL by ``--download`` (issue 17): ``download_ptbxl`` fetches the label tables and the
100 Hz records from PhysioNet into the data folder, resumable, nothing half-written. No network
here: wfdb's download function is replaced by a fake PhysioNet serving a three-record table."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from wfdb.io import download as wfdb_download

from ecg.io.ptbxl import download_ptbxl, load_ptbxl_table
from ecg.io.records import RecordError

BASE = "https://physionet.org/files/ptb-xl/1.0.1/"
RECORDS = ["records100/00000/00001_lr", "records100/00000/00002_lr", "records100/01000/01001_lr"]
TABLE = "ecg_id,patient_id,scp_codes,strat_fold,filename_lr,filename_hr\n" + "".join(
    f"{int(name[-7:-3])},{100 + i},\"{{'NORM': 100.0}}\",{i + 1},{name},"
    f"{name.replace('100', '500').replace('_lr', '_hr')}\n"
    for i, name in enumerate(RECORDS)
)


class FakePhysioNet:
    """Stands in for ``wfdb.io.download.dl_full_file(url, save_file_name)``: writes the file's
    content, records every URL asked for, and can fail (offline, or halfway through a file)."""

    def __init__(self, fail_on: str = "", error: Exception | None = None) -> None:
        self.asked: list[str] = []
        self.fail_on, self.error = fail_on, error
        self.lock = threading.Lock()

    def content(self, relative: str) -> bytes:
        if relative == "ptbxl_database.csv":
            return TABLE.encode()
        if relative == "scp_statements.csv":
            return b",description\nNORM,normal ECG\n"
        return f"contents of {relative}".encode()

    def __call__(self, url: str, save_file_name: str) -> None:
        assert url.startswith(BASE), url
        relative = url[len(BASE) :]
        with self.lock:
            self.asked.append(relative)
        if self.error is not None and (not self.fail_on or relative == self.fail_on):
            Path(save_file_name).write_bytes(b"half a fi")  # a file cut off by the failure
            raise self.error
        Path(save_file_name).write_bytes(self.content(relative))


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def expected_files() -> set[str]:
    records = {f"{name}{ext}" for name in RECORDS for ext in (".dat", ".hea")}
    return {"ptbxl_database.csv", "scp_statements.csv", "RECORDS"} | records


def test_download_fetches_the_tables_and_100_hz_records_in_physionets_layout(tmp_path, monkeypatch):
    server = FakePhysioNet()
    monkeypatch.setattr(wfdb_download, "dl_full_file", server)  # the default fetch is wfdb's
    dest = tmp_path / "ptbxl"
    assert download_ptbxl(dest) == dest
    # The tables first, then each 100 Hz record's signal and header; no 500 Hz file.
    assert server.asked[:2] == ["ptbxl_database.csv", "scp_statements.csv"]
    assert sorted(server.asked[2:]) == sorted(f"{n}{e}" for n in RECORDS for e in (".dat", ".hea"))
    for name in RECORDS:  # a header is renamed into place only after its signal
        assert server.asked.index(f"{name}.dat") < server.asked.index(f"{name}.hea")
    assert files(dest) == expected_files()
    assert (dest / "records100/01000/01001_lr.hea").read_bytes() == (
        b"contents of records100/01000/01001_lr.hea"
    )
    assert (dest / "RECORDS").read_text().split() == RECORDS
    assert list(load_ptbxl_table(dest)["filename_lr"]) == RECORDS


def test_download_resumes_and_skips_files_already_there(tmp_path):
    dest = tmp_path / "ptbxl"
    download_ptbxl(dest, fetch=FakePhysioNet())
    (dest / "records100/00000/00002_lr.dat").unlink()
    (dest / "records100/00000/00002_lr.hea").unlink()
    (dest / "scp_statements.csv").write_text("kept: not fetched again\n")
    again = FakePhysioNet()
    download_ptbxl(dest, fetch=again)
    assert again.asked == ["records100/00000/00002_lr.dat", "records100/00000/00002_lr.hea"]
    assert (dest / "scp_statements.csv").read_text() == "kept: not fetched again\n"
    assert files(dest) == expected_files()
    third = FakePhysioNet()
    download_ptbxl(dest, fetch=third)
    assert third.asked == []


def test_offline_is_a_clear_error_and_leaves_nothing_half_written(tmp_path):
    dest = tmp_path / "ptbxl"
    offline = FakePhysioNet(error=requests.ConnectionError("Failed to resolve physionet.org"))
    with pytest.raises(RecordError, match="is this machine online") as caught:
        download_ptbxl(dest, fetch=offline)
    assert "run again to resume" in str(caught.value) and BASE in str(caught.value)
    assert offline.asked == ["ptbxl_database.csv"] and files(dest) == set()


def test_a_failure_halfway_keeps_the_complete_files_only(tmp_path):
    dest = tmp_path / "ptbxl"
    cut = FakePhysioNet(
        fail_on="records100/00000/00002_lr.dat", error=requests.ConnectionError("reset by peer")
    )
    with pytest.raises(RecordError, match="could not download PTB-XL"):
        download_ptbxl(dest, fetch=cut)
    left = files(dest)
    assert not any(name.endswith(".part") for name in left)
    assert "records100/00000/00002_lr.dat" not in left
    assert "records100/00000/00002_lr.hea" not in left  # its header never without its signal
    assert "RECORDS" not in left  # written last, once every record is there
    assert {"ptbxl_database.csv", "records100/00000/00001_lr.hea"} <= left
    assert (dest / "ptbxl_database.csv").read_text() == TABLE
    # Run again online: only what is missing is fetched.
    resumed = FakePhysioNet()
    download_ptbxl(dest, fetch=resumed)
    assert "records100/00000/00002_lr.dat" in resumed.asked
    assert "ptbxl_database.csv" not in resumed.asked
    assert files(dest) == expected_files()


def test_limit_fetches_the_first_records_of_the_table(tmp_path):
    server = FakePhysioNet()
    download_ptbxl(tmp_path, limit=1, fetch=server)
    assert server.asked[2:] == [f"{RECORDS[0]}.dat", f"{RECORDS[0]}.hea"]
    assert (tmp_path / "RECORDS").read_text().split() == RECORDS[:1]


def test_train_mixed_download_fetches_ptbxl_into_ptbxl_dir_and_reports_offline(
    tmp_path, monkeypatch
):
    from classifier.management.commands import build_dataset, train_mixed

    monkeypatch.setattr(build_dataset, "download_mitdb", lambda dest: Path(dest))
    asked = []

    def offline(dest, **kwargs):
        asked.append(dest)
        raise RecordError("could not download PTB-XL 1.0.1 (offline)")

    monkeypatch.setattr(train_mixed, "download_ptbxl", offline)
    with pytest.raises(CommandError, match="could not download PTB-XL"):
        call_command(
            "train_mixed", "--quick", "--download", "--data-dir", str(tmp_path / "mitdb"),
            "--ptbxl-dir", str(tmp_path / "ptbxl"), "--out", str(tmp_path / "out"),
        )  # fmt: skip
    assert asked == [tmp_path / "ptbxl"] and not (tmp_path / "out").exists()

"""Parsing uploaded recordings: every format, every malformed case (synthetic files only)."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile

import numpy as np
import pytest

from ecg.io.recording_io import Limits, RecordingFormatError, parse_upload

from .synth import beat_times, ecg, write_wfdb, zip_bytes

FS = 360.0


def two_leads(duration_s: float = 20.0):
    times = beat_times(duration_s)
    return np.stack([ecg(FS, duration_s, times), 0.5 * ecg(FS, duration_s, times, seed=1)])


def csv_bytes(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


# -- CSV --------------------------------------------------------------------------------------


def test_csv_one_column_needs_and_uses_the_form_sampling_rate():
    x = two_leads()[0]
    content = csv_bytes([f"{v:.4f}" for v in x])
    with pytest.raises(RecordingFormatError, match="sampling rate cannot be read"):
        parse_upload([("ecg.csv", content)])
    rec = parse_upload([("ecg.csv", content)], fs=FS)
    assert rec.format == "csv" and rec.fs == FS
    assert rec.n_samples == x.size
    np.testing.assert_allclose(rec.signal, x, atol=1e-4)


def test_a_single_unnamed_trace_takes_the_lead_typed_at_upload():
    x = two_leads()[0]
    content = csv_bytes([f"{v:.4f}" for v in x])
    rec = parse_upload([("ecg.csv", content)], fs=FS, lead=" II ")
    assert rec.lead_names == ["II"] and rec.lead == "II"
    assert "lead II, as given at upload" in rec.notes
    np.testing.assert_allclose(rec.signal, x, atol=1e-4)
    assert parse_upload([("ecg.csv", content)], fs=FS).lead == "lead 1"  # nothing typed
    assert parse_upload([("ecg.csv", content)], fs=FS, lead="1").lead == "lead 1"  # a number


def test_a_named_or_second_lead_is_never_renamed():
    x = two_leads()
    rows = ["time,V1,MLII"] + [f"{i / FS:.6f},{a:.4f},{b:.4f}" for i, (a, b) in enumerate(x.T)]
    # "II" typed for a file with MLII (MIT-BIH's modified lead II) picks it, under its own name
    rec = parse_upload([("ecg.csv", csv_bytes(rows))], lead="II")
    assert rec.lead == "MLII" and rec.lead_names == ["V1", "MLII"]
    with pytest.raises(RecordingFormatError, match="lead 'III' not found"):
        parse_upload([("ecg.csv", csv_bytes(rows))], lead="III")
    unnamed = csv_bytes([f"{a:.4f},{b:.4f}" for a, b in x.T])  # two columns, no header
    with pytest.raises(RecordingFormatError, match="lead 'II' not found"):
        parse_upload([("ecg.csv", unnamed)], fs=FS, lead="II")


def test_csv_time_and_value_columns_give_the_sampling_rate():
    x = two_leads()[0]
    content = csv_bytes(["time,MLII"] + [f"{i / 250:.6f},{v:.4f}" for i, v in enumerate(x)])
    rec = parse_upload([("ecg.csv", content)])
    assert rec.fs == pytest.approx(250.0)
    assert rec.lead == "MLII"
    np.testing.assert_allclose(rec.signal, x, atol=1e-4)


def test_csv_time_in_milliseconds_without_header_and_microvolts():
    x = two_leads()[0]
    rows = [f"{i * 1000 / 500:.3f},{v * 1000:.1f}" for i, v in enumerate(x)]
    content = csv_bytes(["ms,value"] + rows)
    rec = parse_upload([("ecg.csv", content)], units="uV")
    assert rec.fs == pytest.approx(500.0)
    np.testing.assert_allclose(rec.signal, x, atol=1e-3)
    seconds = [f"{i / 500:.4f},{v:.4f}" for i, v in enumerate(x)]
    headerless = parse_upload([("ecg.csv", csv_bytes(seconds))])
    assert headerless.fs == pytest.approx(500.0)  # no header: the even first column is time (s)
    assert headerless.lead_names == ["lead 1"]


@pytest.mark.parametrize(
    ("header", "seconds_per_unit"),
    [("time_s", 1.0), ("t_ms", 1e-3), ("timestamp", 1.0), ("Elapsed time", 1.0), ("sec", 1.0),
     ("ms", 1e-3), ("Time (s)", 1.0), ("time [ms]", 1e-3), ("Time_ms", 1e-3), ("TIME", 1.0),
     ("elapsed_time_ms", 1e-3), ("t", 1.0), ("seconds", 1.0), ("time_us", 1e-6),
     ("x", 1.0)],  # an unknown name: the column only increases, so it is time (seconds)
)  # fmt: skip
def test_csv_common_time_headers_are_the_time_axis_in_the_unit_they_name(header, seconds_per_unit):
    x = two_leads()[0]
    rows = [f"{i / 250 / seconds_per_unit:.6f},{v:.4f}" for i, v in enumerate(x)]
    rec = parse_upload([("ecg.csv", csv_bytes([f"{header},ecg"] + rows))])
    assert rec.fs == pytest.approx(250.0, rel=1e-4)
    assert rec.lead_names == ["ecg"] and rec.lead == "ecg"  # the column analysed, as shown
    np.testing.assert_allclose(rec.signal, x, atol=1e-4)
    assert rec.notes[0] == f"column {header!r} read as time: {rec.fs:g} Hz"


def test_csv_time_s_header_with_a_form_rate_never_analyses_the_time_ramp():
    """The reported file: ``time_s,ecg`` with the rate entered was read as two leads and the
    time ramp analysed (1,003 "beats", 81 % flutter)."""
    x = two_leads()[0]
    content = csv_bytes(["time_s,ecg"] + [f"{i / FS:.5f},{v:.4f}" for i, v in enumerate(x)])
    rec = parse_upload([("ecg.csv", content)], fs=FS)
    assert rec.lead_names == ["ecg"] and rec.signals.shape[0] == 1
    np.testing.assert_allclose(rec.signal, x, atol=1e-4)


def test_csv_sample_counter_column_is_dropped_and_the_form_gives_the_rate():
    x = two_leads()[0]
    content = csv_bytes(["sample,MLII"] + [f"{i},{v:.4f}" for i, v in enumerate(x)])
    with pytest.raises(RecordingFormatError, match="first column counts samples"):
        parse_upload([("ecg.csv", content)])
    rec = parse_upload([("ecg.csv", content)], fs=FS)
    assert rec.fs == FS and rec.lead_names == ["MLII"]
    assert rec.notes[0] == "column 'sample' counts samples: the rate entered in the form is used"


@pytest.mark.parametrize(
    "rows",
    [
        ["time_s"] + [f"{i / FS:.5f}" for i in range(7200)],  # the time column alone
        [f"{i / FS:.5f}" for i in range(7200)],  # the same without header
        ["ecg,time_s"] + [f"{v:.4f},{i / FS:.5f}" for i, v in enumerate(two_leads()[0])],
    ],
    ids=["only-time", "only-ramp", "time-last"],
)
def test_csv_a_column_that_only_increases_is_never_analysed_as_ecg(rows):
    with pytest.raises(RecordingFormatError, match="only increases: it is a time axis"):
        parse_upload([("ecg.csv", csv_bytes(rows))], fs=FS)


def test_csv_form_rate_disagreeing_with_time_column_is_refused():
    x = two_leads()[0]
    content = csv_bytes(["time,v"] + [f"{i / 250:.6f},{v:.4f}" for i, v in enumerate(x)])
    with pytest.raises(RecordingFormatError, match="disagrees with the time column"):
        parse_upload([("ecg.csv", content)], fs=360)


def test_csv_non_numeric_cell_names_line_and_value():
    rows = ["MLII"] + ["0.1"] * 5000
    rows[1234] = "0.2mV"
    with pytest.raises(RecordingFormatError, match=r"line 1235, column 1: '0.2mV' is not a number"):
        parse_upload([("ecg.csv", csv_bytes(rows))], fs=FS)


def test_csv_irregular_time_column_is_refused():
    times = np.arange(5000) / FS
    times[3000:] += 0.5
    rows = ["time,v"] + [f"{t:.6f},0.1" for t in times]
    with pytest.raises(RecordingFormatError, match="not evenly sampled"):
        parse_upload([("ecg.csv", csv_bytes(rows))])


def test_nan_runs_short_are_bridged_long_are_refused():
    x = two_leads()[0].astype(object)
    short = [f"{v:.4f}" for v in x]
    short[1000:1010] = [""] * 10  # 28 ms
    rec = parse_upload([("ecg.csv", csv_bytes(short))], fs=FS)
    assert np.all(np.isfinite(rec.signal))
    assert any("bridged 1 short gap" in note for note in rec.notes)
    long = [f"{v:.4f}" for v in x]
    long[1000:1800] = ["NaN"] * 800  # 2.2 s
    with pytest.raises(
        RecordingFormatError, match=r"2\.22 s of missing samples \(NaN\) from 2\.78 s"
    ):
        parse_upload([("ecg.csv", csv_bytes(long))], fs=FS)


def test_csv_multi_lead_prefers_mlii_then_the_users_choice():
    x = two_leads()
    rows = ["time,V1,MLII"] + [f"{i / FS:.6f},{a:.4f},{b:.4f}" for i, (a, b) in enumerate(x.T)]
    rec = parse_upload([("ecg.csv", csv_bytes(rows))])
    assert rec.lead == "MLII"
    np.testing.assert_allclose(rec.second_lead, x[0], atol=1e-4)
    assert parse_upload([("ecg.csv", csv_bytes(rows))], lead="v1").lead == "V1"
    with pytest.raises(
        RecordingFormatError, match="lead 'V5' not found; the recording has V1, MLII"
    ):
        parse_upload([("ecg.csv", csv_bytes(rows))], lead="V5")


def test_csv_lead_iii_is_taken_over_an_untrained_lead_but_after_the_others():
    # The shipped model is trained on III too (ptbxl_leads_study.json); III comes after the others.
    x = two_leads()
    cases = (
        ("aVR,III", "III"),
        ("III,V1", "V1"),
        ("III,II", "II"),
        ("Lead III,Lead II", "Lead II"),
        ("aVR,lead v5", "lead v5"),
    )  # spellings: one lead
    for header, analysed in cases:
        rows = [f"time,{header}"] + [
            f"{i / FS:.6f},{a:.4f},{b:.4f}" for i, (a, b) in enumerate(x.T)
        ]
        assert parse_upload([("ecg.csv", csv_bytes(rows))]).lead == analysed


# -- WFDB -------------------------------------------------------------------------------------


def test_wfdb_several_files_with_annotations(tmp_path):
    x = two_leads()
    times = beat_times(20.0)
    samples = np.round(times * FS).astype(int)
    files = write_wfdb(tmp_path, "rec1", x, FS, ["MLII", "V1"], samples, ["N"] * len(samples))
    assert set(files) == {"rec1.hea", "rec1.dat", "rec1.atr"}
    rec = parse_upload(list(files.items()))
    assert rec.format == "wfdb" and rec.fs == FS and rec.lead == "MLII"
    assert rec.lead_names == ["MLII", "V1"]
    np.testing.assert_allclose(rec.signals, x, atol=0.01)  # 200 adu/mV quantisation
    np.testing.assert_array_equal(rec.ann_samples, samples)
    assert set(rec.ann_symbols) == {"N"}


def test_wfdb_single_file_zip_with_folder(tmp_path):
    x = two_leads()
    files = write_wfdb(tmp_path, "rec2", x, FS, ["V5", "V2"], fmt="212")
    rec = parse_upload([("upload.zip", zip_bytes({f"rec2/{n}": c for n, c in files.items()}))])
    assert rec.name == "rec2" and not rec.has_reference
    assert rec.lead == "V5"  # no MLII: the first lead
    np.testing.assert_allclose(rec.signals, x, atol=0.01)


def test_wfdb_missing_data_file(tmp_path):
    files = write_wfdb(tmp_path, "rec3", two_leads(), FS, ["MLII", "V1"])
    with pytest.raises(RecordingFormatError, match="names data file rec3.dat, which was not"):
        parse_upload([("rec3.hea", files["rec3.hea"])])


def test_wfdb_data_shorter_than_header_says(tmp_path):
    files = write_wfdb(tmp_path, "rec4", two_leads(), FS, ["MLII", "V1"])
    files["rec4.dat"] = files["rec4.dat"][:-4000]
    with pytest.raises(
        RecordingFormatError, match="declares 7200 samples but rec4.dat holds only 6200"
    ):
        parse_upload(list(files.items()))


def test_wfdb_data_longer_than_header_says(tmp_path):
    files = write_wfdb(tmp_path, "rec5", two_leads(), FS, ["MLII", "V1"])
    files["rec5.dat"] += b"\x00" * 400
    with pytest.raises(RecordingFormatError, match="longer than rec5.hea declares"):
        parse_upload(list(files.items()))


def test_wfdb_checksum_mismatch_means_header_and_data_disagree(tmp_path):
    files = write_wfdb(tmp_path, "rec6", two_leads(), FS, ["MLII", "V1"])
    data = bytearray(files["rec6.dat"])
    data[1000] ^= 0x7F  # same length, different samples: a data file from another record
    files["rec6.dat"] = bytes(data)
    with pytest.raises(RecordingFormatError, match="checksum of signal .* does not match"):
        parse_upload(list(files.items()))


@pytest.mark.parametrize(("fmt", "missing"), [("16", 1), ("16", 3), ("212", 2), ("80", 5)])
def test_a_wfdb_record_with_missing_samples_passes_its_checksum(tmp_path, fmt, missing):
    """Issue 18 (fuzzing): ``wfdb`` sums every sample into the header's checksum, its invalid
    value (a missing sample) included; the reader summed the valid ones only, so a record with
    an odd number of missing samples (format 16) was refused as "header and data disagree"."""
    x = np.clip(two_leads(), -0.6, 0.6)  # format 80 holds +-0.635 mV at this gain
    x[0, 1000 : 1000 + missing] = np.nan
    files = write_wfdb(tmp_path, "rec8", x, FS, ["MLII", "V1"], fmt=fmt)
    rec = parse_upload(list(files.items()))
    assert np.all(np.isfinite(rec.signals)) and rec.n_samples == x.shape[1]
    assert rec.notes == ["lead MLII: bridged 1 short gap(s) of missing samples"]


def test_wfdb_unreadable_header():
    with pytest.raises(RecordingFormatError, match="rec7.hea"):
        parse_upload([("rec7.hea", b"this is not a header\n"), ("rec7.dat", b"\0" * 100)])


def test_dat_without_header_is_explained():
    with pytest.raises(RecordingFormatError, match="needs its .hea header"):
        parse_upload([("100.dat", b"\0" * 100)])


# -- ZIP safety ---------------------------------------------------------------------------------


def test_zip_path_traversal_is_refused(tmp_path):
    files = write_wfdb(tmp_path, "rec8", two_leads(), FS, ["MLII", "V1"])
    members = {"rec8.hea": files["rec8.hea"], "../../etc/rec8.dat": files["rec8.dat"]}
    with pytest.raises(RecordingFormatError, match="points outside the archive"):
        parse_upload([("bad.zip", zip_bytes(members))])
    absolute = {"/tmp/rec8.hea": files["rec8.hea"]}
    with pytest.raises(RecordingFormatError, match="points outside the archive"):
        parse_upload([("bad.zip", zip_bytes(absolute))])


def test_zip_bomb_is_refused():
    bomb = zip_bytes({"rec.hea": b"rec 1 360 1000\n", "rec.dat": b"\0" * 60_000_000})
    assert len(bomb) < 200_000
    with pytest.raises(RecordingFormatError, match="ZIP bomb"):
        parse_upload([("bomb.zip", bomb)])


def test_zip_total_unpacked_size_is_bounded_even_with_lying_headers():
    # Many moderately compressible members: each below the ratio limit, together too big.
    limits = Limits(max_unzipped_bytes=1_000_000)
    rng = np.random.default_rng(0)
    members = {f"part{i}.dat": rng.integers(0, 4, 400_000, dtype=np.uint8).tobytes()
               for i in range(4)}  # fmt: skip
    with pytest.raises(RecordingFormatError, match="unpacks to more than 1 MB"):
        parse_upload([("big.zip", zip_bytes(members))], limits=limits)


def test_not_a_zip():
    with pytest.raises(RecordingFormatError, match="not a readable ZIP"):
        parse_upload([("x.zip", b"PK but not really")])


def test_zip_beside_other_files_is_refused():
    with pytest.raises(RecordingFormatError, match="either one ZIP"):
        parse_upload([("a.zip", zip_bytes({"a.csv": b"1\n"})), ("b.csv", b"1\n")])


# -- EDF ----------------------------------------------------------------------------------------


def test_edf(tmp_path):
    from wfdb.io.convert.edf import wfdb_to_edf

    x = two_leads()
    write_wfdb(tmp_path, "rec9", x, FS, ["V1", "MLII"])
    with contextlib.redirect_stdout(io.StringIO()):
        wfdb_to_edf(str(tmp_path / "rec9"), output_filename=str(tmp_path / "rec9.edf"))
    rec = parse_upload([("rec9.edf", (tmp_path / "rec9.edf").read_bytes())])
    assert rec.format == "edf" and rec.fs == FS
    assert rec.lead == "MLII" and rec.lead_names == ["V1", "MLII"]
    np.testing.assert_allclose(rec.signal[: x.shape[1]], x[1], atol=0.01)


@pytest.mark.parametrize(
    ("fs", "record_s", "records"),
    [(360, 0.7, 16), (360, 0.7, 30), (250, 0.7, 22), (500, 0.07, 300), (100, 0.07, 200)],
)
def test_edf_with_short_data_records_is_read_whatever_its_length(fs, record_s, records):
    """Issue 18 (fuzzing): ``read_edf`` truncated binary rounding errors, so 16 records of
    0.7 s at 360 Hz (0.7 * 360 * 16 = 4031.99...) were "unreadable", and 7 samples in 0.07 s
    were 99 Hz."""
    from .synth import edf_bytes

    per_record = int(round(fs * record_s))
    x = np.sin(np.arange(per_record * records) / 7.0).astype(np.float32)
    rec = parse_upload([("x.edf", edf_bytes(x, fs, ["II"], record_s=record_s))])
    assert rec.fs == fs and rec.n_samples == x.size
    np.testing.assert_allclose(rec.signal, x, atol=1e-3)


def test_edf_at_a_rate_that_is_no_whole_number_of_hz_is_refused_with_its_rate():
    from .synth import edf_bytes

    x = np.zeros(38 * 100, np.float32)  # 38 samples per 0.3-s record: 126.67 Hz
    content = edf_bytes(x, 128, ["II"], record_s=0.3)
    with pytest.raises(RecordingFormatError, match=r"126\.667 Hz, not a whole number of Hz"):
        parse_upload([("x.edf", content)])


def test_garbage_edf():
    with pytest.raises(RecordingFormatError, match="not an EDF file"):
        parse_upload([("x.edf", b"hello")])


# -- limits and other refusals -----------------------------------------------------------------


def test_size_limit():
    with pytest.raises(RecordingFormatError, match="the limit is 1 MB"):
        parse_upload([("ecg.csv", b"0.1\n" * 300_000)], fs=FS, limits=Limits(max_bytes=1_000_000))


def test_duration_limit_and_minimum():
    content = csv_bytes(["0.1"] * int(FS * 120))
    with pytest.raises(RecordingFormatError, match="lasts 0.03 h; the limit is 0.0166667 h"):
        parse_upload([("ecg.csv", content)], fs=FS, limits=Limits(max_duration_s=60))
    with pytest.raises(RecordingFormatError, match="at least 10 s"):
        parse_upload([("ecg.csv", csv_bytes(["0.1"] * 1000))], fs=FS)


@pytest.mark.parametrize(
    "rows",
    [
        ["MLII,V1", *(f"{v:.4f}," for v in two_leads()[0])],  # V1 exported empty
        [f"{v:.4f}," for v in two_leads()[0]],  # every row ends with the delimiter
    ],
)
def test_a_lead_with_every_sample_missing_is_refused_by_name(rows):
    """Issue 18 (fuzzing): ``check_amplitude`` raised IndexError on a lead of NaN only (no
    sample beyond the limit to report), so such a CSV gave a 500 instead of a message."""
    with pytest.raises(RecordingFormatError, match="every sample is missing"):
        parse_upload([("ecg.csv", csv_bytes(rows))], fs=FS)


@pytest.mark.parametrize(
    ("samples", "limit_s", "shown"),
    [(3599, None, "lasts 9.997 s; at least 10 s"), (3601, 10, "lasts 0.003 h; the "
     "limit is 0.00277778 h"), (int(FS * 120), 60, "lasts 0.03 h; the limit is 0.0166667 h")],
)  # fmt: skip
def test_a_refused_duration_is_never_shown_rounded_onto_its_limit(samples, limit_s, shown):
    """Issue 18 (fuzzing): 3,599 samples at 360 Hz were refused as "lasts 10.0 s; at least
    10 s are needed", 120 s over a 60-s limit as "lasts 0.0 h"."""
    limits = Limits() if limit_s is None else Limits(max_duration_s=limit_s)
    with pytest.raises(RecordingFormatError, match=re.escape(shown)):
        parse_upload([("ecg.csv", csv_bytes(["0.1"] * samples))], fs=FS, limits=limits)


def test_unsupported_file_type():
    with pytest.raises(RecordingFormatError, match="unsupported upload"):
        parse_upload([("report.docx", b"PK\x03\x04")])


def test_an_image_that_does_not_decode_is_refused_with_the_reason():
    # (a readable strip image is a recording: tests/recordings/test_strip_image.py)
    with pytest.raises(RecordingFormatError, match="not a readable PNG, JPEG or BMP image"):
        parse_upload([("scan.png", b"\x89PNG")])


def test_zip_hidden_and_macos_files_are_skipped(tmp_path):
    files = write_wfdb(tmp_path, "rec10", two_leads(), FS, ["MLII", "V1"])
    members = dict(files)
    members["__MACOSX/._rec10.hea"] = b"junk"
    rec = parse_upload([("r.zip", zip_bytes(members))])
    assert rec.name == "rec10"
    assert zipfile.is_zipfile(io.BytesIO(zip_bytes(members)))


def test_wfdb_single_lead(tmp_path):
    x = two_leads()[:1]
    rec = parse_upload(list(write_wfdb(tmp_path, "one", x, FS, ["II"]).items()))
    assert rec.lead_names == ["II"] and rec.second_lead is None
    np.testing.assert_allclose(rec.signal, x[0], atol=0.01)


def test_wfdb_signals_in_two_data_files(tmp_path):
    x = two_leads()
    a = write_wfdb(tmp_path / "a", "reca", x[:1], FS, ["MLII"])
    b = write_wfdb(tmp_path / "b", "recb", x[1:], FS, ["V1"])
    line_a = a["reca.hea"].decode().splitlines()[1]
    line_b = b["recb.hea"].decode().splitlines()[1]
    header = f"two 2 360 {x.shape[1]}\n{line_a}\n{line_b}\n".encode()
    files = {"two.hea": header, "reca.dat": a["reca.dat"], "recb.dat": b["recb.dat"]}
    rec = parse_upload(list(files.items()))
    assert rec.lead_names == ["MLII", "V1"]
    np.testing.assert_allclose(rec.signals, x, atol=0.01)
    files["recb.dat"] = files["recb.dat"][:-10]
    with pytest.raises(RecordingFormatError, match="recb.dat holds only"):
        parse_upload(list(files.items()))


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded():
    import io as _io

    from PIL import Image

    buffer = _io.BytesIO()
    Image.new("1", (6000, 6000), 1).save(buffer, format="PNG")  # 36 MP, a few kB of PNG
    with pytest.raises(RecordingFormatError, match="36,000,000 pixels, more than 25,000,000"):
        parse_upload([("huge.png", buffer.getvalue())])


@pytest.mark.parametrize("decimals, header", [(3, "time"), (2, "time_ms")])
def test_csv_time_rounded_to_its_printed_digits_gives_the_rate(decimals, header):
    """A time column written to the millisecond at 360 Hz steps 2 or 3 ms, never 2.78:
    evenly sampled all the same, at 360 Hz (it was refused as 'not evenly sampled'; written
    to 0.01 ms, its median step gave 359.71 Hz)."""
    times = np.arange(20 * 360) / 360 * (1000.0 if header == "time_ms" else 1.0)
    x = ecg(360.0, 20.0, beat_times(20.0))
    rows = [f"{header},v"] + [f"{t:.{decimals}f},{v:.4f}" for t, v in zip(times, x, strict=True)]
    rec = parse_upload([("ecg.csv", csv_bytes(rows))])
    assert rec.fs == 360.0 and rec.n_samples == len(times)


def test_csv_rounded_time_with_a_real_gap_is_still_refused():
    times = np.arange(20 * 360) / 360
    times[3000:] += 0.5
    rows = ["time,v"] + [f"{t:.3f},0.1" for t in times]
    with pytest.raises(RecordingFormatError, match="not evenly sampled"):
        parse_upload([("ecg.csv", csv_bytes(rows))])

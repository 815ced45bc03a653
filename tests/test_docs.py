"""The README's layout table matches the tree (issue 16: a README a newcomer can trust), and the
docs' home page quotes the results files it names."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_paths() -> list[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Layout", 1)[1]
    return re.findall(r"^\| `([^`]+)`", table, flags=re.M) + re.findall(
        r"^\| `[^`]+`, `([^`]+)`", table, flags=re.M
    )


def test_every_path_in_the_layout_table_exists():
    missing = [p for p in layout_paths() if not (ROOT / p.rstrip("/")).exists()]
    assert missing == []


def test_every_top_level_folder_is_in_the_layout_table():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {path.split("/")[0] + "/" for path in tracked if "/" in path}
    listed = {p if p.endswith("/") else p + "/" for p in layout_paths()}
    assert sorted(folders - listed - {".ci/"}) == []


def _results(path: str) -> dict:
    import json

    return json.loads((ROOT / path).read_text())


def test_the_home_page_limits_quote_the_results_files():
    """docs/index.md's "What it does not do well yet" figures are those of the files it names:
    a model or benchmark rerun that moves them turns this red until the page says so."""
    page = (ROOT / "docs" / "index.md").read_text().split("## What it does not do well yet")[1]
    served = _results("models/recording_mixed.served.json")["headline"]
    leads = _results("models/recording_mixed.conduction.json")["figures"]
    leads = leads["all trained leads (served)"]
    noise = _results("benchmarks/results/noise_stress.json")["checks"]
    af = _results("benchmarks/results/episodes.json")["af"]
    af = af["DS2 (held out: 202, 210, 219, 221, 222)"]["app"]
    digitise = _results("benchmarks/results/digitise.json")["splits"]["DS1_train"]["renderers"]
    app, net = served["served"], served["network"]

    def pct(x: float) -> int:
        return round(100 * x)

    expected = [
        f"found {pct(app['DS2 SVEB Se'])} % of the time and {pct(app['DS2 SVEB +P'])} % of the",
        f"{pct(net['DS2 SVEB Se'])} / {pct(net['DS2 SVEB +P'])} % for the network alone",
        f"{100 * app['DS2 VEB Se']:.1f} % found, {100 * app['DS2 VEB +P']:.1f} % of the calls",
        f"L and R recalls are {app['DS2 L Se']:.2f} and {app['DS2 R Se']:.2f}",
        f"{leads['L']['F1']:.3f} for LBBB and {leads['R']['F1']:.3f} for RBBB",
        f"right {pct(noise['accuracy_answered_24_db'])} % of the\n  time at 24 dB and "
        f"{pct(noise['accuracy_answered_12_db'])} % at 12 dB",
        f"against {pct(noise['clean_ds2_accuracy_answered'])} % on clean records; "
        f"{pct(noise['clean_ds2_not_answered'])} % of clean DS2",
        f"cover {100 * af['duration_sensitivity']:.1f} % of the reference AF time and\n"
        f"  {100 * af['duration_positive_predictivity']:.1f} % of the time called AF",
    ]
    assert [text for text in expected if text not in page] == []
    # plots with neither a grid nor axis labels: points under the own drawing, as served
    bare = ("matplotlib_no_axes", "pillow_200x120", "pillow_1200x600_thick", "pillow_jpeg_q40",
            "minmax_64x64")  # fmt: skip
    figures = [digitise[r]["classification"] for r in bare]
    gaps = [100 * (f["own_drawing"]["accuracy"] - f["served"]["accuracy"]) for f in figures]
    assert f"{int(min(gaps))}-{int(max(gaps))} points less often right" in page
    given = _results("benchmarks/results/digitise_given_height.json")["splits"]["DS1_train"]
    given = [given["renderers"][r]["classification"] for r in bare]
    gaps = [100 * (f["own_drawing"]["accuracy"] - f["served_given_height"]["accuracy"])
            for f in given]  # fmt: skip
    assert f"height given at upload, {int(min(gaps))}-{int(max(gaps))} points" in page

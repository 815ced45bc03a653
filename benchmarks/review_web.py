"""Benchmark: the clinician's review pages on SQLite (issue 20).

    python benchmarks/review_web.py [--minutes 30] [--repeats 3]

A synthetic finished recording (``tests/recordings/review_data.py``: ``long_ecg`` at 360 Hz, no
model run) of ``--minutes`` minutes is written to a throw-away SQLite database and MEDIA_ROOT.
Timed, best of ``--repeats`` (each on a fresh copy of the beats' review state):

* ``relabel_1000_s``: ``beat_correct`` of 1,000 beats (one correction row each, the beats'
  reviewed label, the summary recounted over every beat), in one transaction;
* ``templates_first_s``: the templates page the first time (reads the lead, groups the beats,
  stores the grouping) through the real view, logged in;
* ``templates_cached_s``: the page again (grouping read back, cards drawn);
* ``group_relabel_post_s``: POST relabelling the largest group (the form on a card);
* ``templates_with_50_actions_s``: the page again with 50 actions in its history (the
  relabel and 49 corrections of 20 beats), each with "Undo this action";
* ``recording_page_no_actions_s`` and ``recording_page_with_panel_s``: the recording page (where
  the strip is) with no review action, then with those 50 actions (its "Review actions" panel
  lists the 10 latest, each with "Undo this action");
* ``undo_1000_s``: ``review_action_undo`` of the 1,000-beat relabel (each beat's earlier label
  put back, a correction row each for the undo, the summary recounted);
* ``redo_1000_s``: ``review_action_redo`` of that undo (the relabel re-applied: a correction row
  each for the redo, the summary recounted);
* ``revert_1000_s``: "Undo this action" (``review_action_revert``) of that 1,000-beat relabel
  (beats 0-999) once a later 1,000-beat correction (beats 500-1,499) changed half of its beats
  again: which beats a later action changed is worked out from the correction rows, the 500
  others put back (a correction row each for the revert), the summary recounted;
  ``undo_revert_1000_s``: Undo of that revert;
* with suggestions asked for (learned from 10 reviewed beats), each correction and undo is
  followed by their recomputation: ``relabel_1000_with_suggestions_s``,
  ``undo_1000_with_suggestions_s``, ``redo_1000_with_suggestions_s`` and
  ``revert_1000_with_suggestions_s`` are the whole service
  calls, ``suggestions_recompute_s`` the
  recomputation that follows the relabel, timed inside it (reading the lead, the beat windows,
  ``corrections.teach`` from 1,010 reviewed beats, writing the suggestions that changed).

``--record 208`` takes a real MIT-BIH lead and its annotated beats instead (the annotation plays
the model's class), for a realistic number of template groups. Printed and written to
``benchmarks/results/review_web.json``, one entry per source.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.django_scratch import scratch_django  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "review_web.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--record", default="", help="an MIT-BIH record (e.g. 208) instead of synthetic beats"
    )
    args = parser.parse_args()

    scratch_django("review-bench-")
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from recordings import review_services
    from recordings.models import Beat, BeatCorrection, Recording, ReviewAction, TemplateGrouping
    from tests.recordings.review_data import done_recording

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password=None)
    source = "synthetic (tests/recordings/review_data.py)"
    if args.record:
        # A real lead: its annotated beats as the beats, the annotation as the "model's" class
        # (beats of other symbols shown as N), so the grouping sees real morphologies.
        import numpy as np

        from ecg.features.beats import beat_annotations
        from ecg.io.records import load_record, resolve_data_dir

        record = load_record(resolve_data_dir(None), args.record)
        peaks, symbols = beat_annotations(record.ann_samples, record.ann_symbols)
        six = {"N", "L", "R", "A", "V", "!"}
        labels = np.array([s if s in six else "N" for s in symbols])
        recording = done_recording(
            user, fs=record.fs, signal=record.signal, peaks=peaks, labels=labels
        )
        source = f"MIT-BIH record {args.record}, lead {record.lead}"
    else:
        recording = done_recording(user, duration_s=args.minutes * 60.0)
    original_summary = dict(recording.summary)

    def reset() -> None:
        BeatCorrection.objects.all().delete()
        ReviewAction.objects.all().delete()
        Beat.objects.filter(recording=recording).update(
            reviewed_label="", reviewed_by=None, suggested_label=""
        )
        Recording.objects.filter(pk=recording.pk).update(summary=original_summary, review={})
        recording.refresh_from_db()

    def timed(call) -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    def relabel_1000() -> None:
        review_services.beat_correct(
            user=user, recording=recording, beat_indices=range(1000), label="V"
        )

    def undo() -> None:
        review_services.review_action_undo(user=user, recording=recording)

    def redo() -> None:
        review_services.review_action_redo(user=user, recording=recording)

    def later_1000() -> None:  # half of it over the relabel's beats
        review_services.beat_correct(
            user=user, recording=recording, beat_indices=range(500, 1500), label="N"
        )

    def revert() -> None:
        first = recording.review_actions.filter(kind=ReviewAction.Kind.REDO).get()
        result = review_services.review_action_revert(
            user=user, recording=recording, action_id=first.pk
        )
        assert (result["beats"], result["kept"]) == (500, 500), result

    relabel, undone, redone, reverted, undo_reverted = [], [], [], [], []
    for _ in range(args.repeats):
        reset()
        relabel.append(timed(relabel_1000))
        undone.append(timed(undo))
        redone.append(timed(redo))
        assert recording.review["beats_reviewed"] == 1000, recording.review
        later_1000()
        reverted.append(timed(revert))
        assert recording.review["beats_reviewed"] == 1000, recording.review  # 500-1,499
        undo_reverted.append(timed(undo))
        assert recording.review["beats_reviewed"] == 1500, recording.review
    relabel_s, undo_s, redo_s, revert_s, recompute = [], [], [], [], []
    refresh = review_services._suggestions_refresh

    def timed_refresh(**kwargs) -> None:
        recompute.append(timed(lambda: refresh(**kwargs)))

    for _ in range(args.repeats):
        reset()
        review_services.beat_correct(
            user=user, recording=recording, beat_indices=range(1000, 1010), label="N"
        )
        review_services.beats_suggest(user=user, recording=recording)
        review_services._suggestions_refresh = timed_refresh  # the relabel's recomputation
        try:
            relabel_s.append(timed(relabel_1000))
        finally:
            review_services._suggestions_refresh = refresh
        # (a beat too close to either end has no window and teaches nothing)
        assert recording.review["suggestions"]["learned_from"] >= 1000, recording.review
        undo_s.append(timed(undo))
        assert recording.review["suggestions"]["learned_from"] <= 10
        redo_s.append(timed(redo))
        assert recording.review["suggestions"]["learned_from"] >= 1000, recording.review
        later_1000()
        revert_s.append(timed(revert))

    client = Client()
    client.force_login(user)
    url = reverse("recordings:templates", args=[recording.pk])
    first, cached, post, bare = [], [], [], []
    for _ in range(args.repeats):
        reset()
        started = time.perf_counter()
        detail = client.get(recording.get_absolute_url())
        bare.append(time.perf_counter() - started)
        assert 'id="review-actions"' not in detail.content.decode()
        TemplateGrouping.objects.all().delete()
        started = time.perf_counter()
        response = client.get(url)
        first.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        started = time.perf_counter()
        page = client.get(url)
        cached.append(time.perf_counter() - started)
        grouping = TemplateGrouping.objects.get(recording=recording)
        started = time.perf_counter()
        done = client.post(
            reverse("recordings:template_relabel", args=[recording.pk, 0]), {"label": "N"}
        )
        post.append(time.perf_counter() - started)
        assert done.status_code == 302
    # The page with a full action history (50 actions: the relabel above and 49 corrections).
    for i in range(49):
        review_services.beat_correct(
            user=user, recording=recording, beat_indices=range(20 * i, 20 * i + 20), label="A"
        )
    with_history = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        page_history = client.get(url)
        with_history.append(time.perf_counter() - started)
        assert page_history.content.decode().count("Undo this action</button>") == 50
    with_panel = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        detail = client.get(recording.get_absolute_url())
        with_panel.append(time.perf_counter() - started)
        assert detail.content.decode().count("Undo this action</button>") == 10
    result = {
        "recording": {
            "source": source,
            "minutes": round(recording.duration_s / 60, 1),
            "beats": recording.beat_count,
            "groups": len(grouping.groups),
            "largest_group": grouping.groups[0]["count"],
            "page_bytes": len(page.content),
            "grouping_seconds_stored": grouping.seconds,
        },
        "relabel_1000_s": round(min(relabel), 4),
        "undo_1000_s": round(min(undone), 4),
        "redo_1000_s": round(min(redone), 4),
        "revert_1000_s": round(min(reverted), 4),
        "undo_revert_1000_s": round(min(undo_reverted), 4),
        "relabel_1000_with_suggestions_s": round(min(relabel_s), 4),
        "undo_1000_with_suggestions_s": round(min(undo_s), 4),
        "redo_1000_with_suggestions_s": round(min(redo_s), 4),
        "revert_1000_with_suggestions_s": round(min(revert_s), 4),
        "suggestions_recompute_s": round(min(recompute), 4),
        "templates_first_s": round(min(first), 4),
        "templates_cached_s": round(min(cached), 4),
        "group_relabel_post_s": round(min(post), 4),
        "templates_with_50_actions_s": round(min(with_history), 4),
        "recording_page_no_actions_s": round(min(bare), 4),
        "recording_page_with_panel_s": round(min(with_panel), 4),
        "repeats": args.repeats,
        "database": "SQLite",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other sessions)",
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))
    # One entry per source, so the synthetic and the real-record runs sit side by side.
    stored = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    stored[f"mitdb_{args.record}" if args.record else "synthetic"] = result
    RESULTS.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

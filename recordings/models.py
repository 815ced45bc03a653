"""A stored ECG recording, its analysis state, one row per classified beat, and the review's
rows (corrections, review actions, template groups, episode verdicts).

Long on purpose: every table of the recordings app sits in this one module, as Django expects,
so that the migrations and the admin read them from one place."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ecg.features import beat_states, conduction

# Colours of the strip view and legend (colour-blind-safe Okabe-Ito palette).
CLASS_COLOURS: dict[str, str] = {
    "N": "#0072B2",
    "L": "#009E73",
    "R": "#56B4E9",
    "A": "#E69F00",
    "V": "#D55E00",
    "!": "#CC79A7",
    "F": "#000000",  # fusion, a label only a reviewer gives: the palette's last free colour
    "P": "#8C7A00",  # paced, also a reviewer's: the palette's yellow darkened to show on paper
    "X": "#999999",  # artefact, a reviewer's: grey, as the unreadable signal it usually is
}
# The same hues darkened for text on white (the strip's beat labels): each reads at >= 4.5:1
# (WCAG AA), which most of the swatch colours above do not (2.3-3.9:1 but N).
CLASS_TEXT_COLOURS: dict[str, str] = {
    "N": "#0072B2",
    "L": "#00815E",
    "R": "#39789C",
    "A": "#976800",
    "V": "#BB5200",
    "!": "#9D5D80",
    "F": "#000000",
    "P": "#756600",
    "X": "#595959",
}


def recording_folder() -> str:
    """A random folder per recording: file names never carry patient details."""
    return f"recordings/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Recording(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Analysing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recordings"
    )
    name = models.CharField(max_length=100, help_text="Record name from the uploaded files.")
    original_names = models.JSONField(default=list, help_text="Uploaded file names.")
    file_format = models.CharField(max_length=8)  # wfdb, csv, edf
    sampling_rate = models.FloatField()
    n_samples = models.PositiveBigIntegerField()
    duration_s = models.FloatField()
    lead = models.CharField(max_length=32)
    lead_names = models.JSONField(default=list)
    stored_leads = models.JSONField(
        default=list,
        blank=True,
        help_text="The lead names in the signal file's row order, the analysed lead first "
        "(empty for recordings stored before it was kept).",
    )
    has_reference = models.BooleanField(
        default=False, help_text="Reference beat annotations (.atr) were uploaded."
    )
    patient_reference = models.CharField(
        max_length=64,
        blank=True,
        help_text="Pseudonymous reference only -- never a name or an ID number.",
    )
    note = models.TextField(max_length=1000, blank=True)
    # Files, private (served only through views that check the owner):
    # signals.npy (leads x samples, float32 mV: the chosen lead first), reference.npz (beats),
    # probabilities.npy (beats x classes, float16) once analysed.
    signal_file = models.FileField(max_length=255)
    reference_file = models.FileField(max_length=255, blank=True)
    results_file = models.FileField(max_length=255, blank=True)

    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0)  # 0..1
    progress_message = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The running analysis renews its lease as it goes; a lease in the past means its worker died
    # (killed, out of memory) without telling anyone. See services.recordings_reclaim_abandoned.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # analyses started (claimed)
    finished_at = models.DateTimeField(null=True, blank=True)

    model_name = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=50, blank=True)
    model_metadata = models.JSONField(
        default=dict, blank=True, help_text="What is needed to redraw a beat as the model saw it."
    )
    beat_count = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    detection = models.JSONField(null=True, blank=True)  # vs reference annotations
    agreement = models.JSONField(null=True, blank=True)  # model vs reference classes
    notes = models.JSONField(default=list, blank=True)  # parsing notes (bridged gaps, ...)
    quality = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Signal quality of the analysed lead: readable_share (0-1) and one row per "
            "segment (start_s, end_s, readable, reason and the indices)."
        ),
    )
    # The clinician's review (services.beat_correct): how many beats were reviewed, by whom, and
    # the model's own summary as first written ("model_summary"): ``summary`` then counts the
    # reviewed labels. Empty until the first correction.
    review = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="recording_owner_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("recordings:detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        return int(round(100 * self.progress))

    @property
    def duration_display(self) -> str:
        total = int(round(self.duration_s))
        hours, rest = divmod(total, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    @property
    def lead_label(self) -> str:
        """'lead MLII', and 'lead 1' (not 'lead lead 1') for a CSV column named 'lead 1'."""
        name = self.lead.strip()
        return name if name.lower().startswith("lead") else f"lead {name}"

    @property
    def stored_lead_names(self) -> list[str]:
        """The names of the signal file's rows, the analysed lead first
        (``ecg.lead_choice.stored_lead_order``). A recording stored before ``stored_leads`` was
        kept has the analysed lead and the file's next lead (``lead`` is cut to 32 characters,
        so names are compared cut alike)."""
        if self.stored_leads:
            return list(self.stored_leads)
        names = list(self.lead_names or [])
        cut = [name[:32] for name in names]
        analysed = cut.index(self.lead) if self.lead in cut else 0
        others = [name for i, name in enumerate(names) if i != analysed]
        return ([names[analysed]] + others[:1]) if names else []

    @property
    def leads_read_text(self) -> str:
        """Which leads the classes were read on: the analysed lead, and the second lead when
        the model fused its probabilities or read it as its second channel
        (``summary["lead_fusion"]``, rule "two_lead"; issue 17)."""
        fusion = (self.summary or {}).get("lead_fusion") or {}
        second = fusion.get("second_lead")
        if not second:
            return f"classes read on {self.lead_label}"
        if fusion.get("rule") == "two_lead":  # issue 17: one two-channel network call per beat
            return f"classes read on {self.lead_label} and lead {second} together (two-lead model)"
        rule = "averaged" if fusion.get("rule") == "mean" else f"combined ({fusion.get('rule')})"
        return f"classes read on {self.lead_label} and lead {second} (their probabilities {rule})"

    @property
    def conduction_text(self) -> str:
        """The recording's conduction finding in words (``ecg.features.conduction``), e.g.
        "right bundle branch block pattern (mean probability over ...)"; "" when the analysis
        predates it or the model cannot say it."""
        finding = (self.summary or {}).get("conduction")
        return conduction.finding_text(finding) if finding else ""

    @property
    def second_lead_screened_text(self) -> str:
        """Where the fused second lead failed its screen (issue 18), e.g. "lead V1 unreadable
        in 12 % of the recording (flat line): those beats were read on MLII alone"; "" when
        there was no fusion, nothing was screened, or the analysis predates the screen."""
        fusion = (self.summary or {}).get("lead_fusion") or {}
        share = fusion.get("screened_share")
        if not fusion.get("second_lead") or not share:
            return ""
        percent = round(100 * share)
        amount = f"{percent} %" if percent >= 1 else "under 1 %"
        reasons = ", ".join(fusion.get("screened_reasons") or [])
        why = f" ({reasons})" if reasons else ""
        primary = self.lead_label.removeprefix("lead ")
        return (
            f"lead {fusion['second_lead']} unreadable in {amount} of the recording{why}: "
            f"those beats were read on {primary} alone"
        )

    def stored_files(self) -> list[models.fields.files.FieldFile]:
        return [f for f in (self.signal_file, self.reference_file, self.results_file) if f]


class Beat(models.Model):
    """One classified beat. Probabilities live in the recording's results file (row = index).

    ``label`` is always the model's answer; ``state`` says whether it may be shown as a class
    (``ecg.features.beat_states``): an uncertain beat is shown as "X? or <runner_up>", an
    unreadable one (its segment is noise, flat or clipped) as no class at all."""

    class State(models.TextChoices):
        CLASSIFIED = beat_states.CLASSIFIED, "Classified"
        UNCERTAIN = beat_states.UNCERTAIN, "Uncertain"
        UNREADABLE = beat_states.UNREADABLE, "Unreadable"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="beats")
    index = models.PositiveIntegerField()
    sample = models.PositiveBigIntegerField()  # at the recording's sampling rate
    time_s = models.FloatField()
    label = models.CharField(max_length=8)
    confidence = models.FloatField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLASSIFIED)
    runner_up = models.CharField(max_length=8, blank=True)  # the second most probable class
    # Why the beat is uncertain or unreadable (ecg.features.beat_states.state_reasons, e.g.
    # "flutter run not confirmed: ..."); "" for a classified beat or one analysed before.
    state_reason = models.CharField(max_length=255, blank=True)
    reference_label = models.CharField(max_length=8, blank=True)  # matched reference beat
    # The latest BeatCorrection of this beat, copied here so that counts, exports and the strip
    # read one row per beat; the corrections table is the audit trail. "" = not reviewed.
    reviewed_label = models.CharField(max_length=8, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What services.beats_suggest proposes from the clinician's corrections: a suggestion,
    # never counted as reviewed. "" = none.
    suggested_label = models.CharField(max_length=8, blank=True)

    class Meta:
        ordering = ["recording", "index"]
        constraints = [
            models.UniqueConstraint(fields=["recording", "index"], name="beat_unique_index")
        ]
        indexes = [
            models.Index(fields=["recording", "label"], name="beat_recording_label"),
            models.Index(fields=["recording", "time_s"], name="beat_recording_time"),
        ]

    def __str__(self) -> str:
        return f"beat {self.index} at {self.time_s:.2f} s: {self.shown_label}"

    @property
    def shown_label(self) -> str:
        """The class as pages show it: "V", "V? or N" when uncertain, "unreadable"; a reviewed
        beat shows the clinician's label."""
        if self.reviewed_label:
            return self.reviewed_label
        return shown_label(self.label, self.state, self.runner_up)

    @property
    def final_label(self) -> str:
        """The reviewed label if any, else the model's label (whatever its state)."""
        return self.reviewed_label or self.label


def beats_shown_as(label: str) -> models.Q:
    """Beats counted and listed as class ``label``: reviewed as it, or classified as it by the
    model and not reviewed (an uncertain or unreadable beat is never listed under a class)."""
    return models.Q(reviewed_label=label) | models.Q(
        reviewed_label="", label=label, state=Beat.State.CLASSIFIED
    )


def shown_label(label: str, state: str, runner_up: str) -> str:
    if state == Beat.State.UNREADABLE:
        return "unreadable"
    if state == Beat.State.UNCERTAIN:
        return f"uncertain ({label}? or {runner_up})" if runner_up else f"uncertain ({label}?)"
    return label


class ReviewAction(models.Model):
    """One thing the clinician did in one go -- corrected beats, relabelled a template group,
    asked for suggestions, undid the latest of these or redid what was undone -- so that it can
    be undone as one unit (``review_services.review_action_undo``, ``review_action_redo``). Its
    corrections point to it; an undo (``undoes``) and a redo (``redoes``) are actions too, with
    correction rows of their own: the audit trail only grows."""

    class Kind(models.TextChoices):
        CORRECT = "correct", "Beats corrected"
        GROUP = "group", "Template group relabelled"
        SUGGEST = "suggest", "Suggestions from the corrections"
        UNDO = "undo", "Undo"
        REDO = "redo", "Redo"
        REVERT = "revert", "Undo of an older action"

    recording = models.ForeignKey(
        Recording, on_delete=models.CASCADE, related_name="review_actions"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    label = models.CharField(max_length=8, blank=True)  # the class given ("" for suggest, undo)
    group = models.PositiveIntegerField(null=True, blank=True)  # template group (0-based)
    beat_count = models.PositiveIntegerField(default=0)  # beats corrected (or restored)
    first_beat = models.PositiveIntegerField(null=True, blank=True)  # lowest beat index
    # suggest: what undoing it restores -- the suggestions before ({beat index: label}) and
    # the recording's review["suggestions"] marker before (null: none had been asked for).
    detail = models.JSONField(default=dict, blank=True)
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="undone_by"
    )
    # redo: the undo it reverses (one-to-one: an undo is redone at most once). A redo is an
    # action like a correction: it can itself be undone, and that undo redone.
    redoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="redone_by"
    )
    # revert: the older action it undid alone ("Undo this action"), on the beats no later
    # action changed again. A foreign key, not one-to-one: once the revert is itself undone,
    # the action is in effect again and may be reverted again.
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="reverted_by"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recording", "-created_at", "-id"]
        indexes = [models.Index(fields=["recording", "-id"], name="review_action_recording")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.beat_count} beats (recording {self.recording_id})"


class BeatCorrection(models.Model):
    """One clinician's label for one beat, kept for the audit trail: never updated or deleted
    while the recording exists; the latest per beat counts (``Beat.reviewed_label``). A row of
    an undo has the label restored: "" when the beat was not reviewed before (the model's
    answer shows again)."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="corrections")
    beat = models.ForeignKey(Beat, on_delete=models.CASCADE, related_name="corrections")
    label = models.CharField(max_length=8, blank=True)
    # the label shown before it, as pages show it: "uncertain (V? or N)" fits
    previous_label = models.CharField(max_length=40, blank=True)
    # What undoing it puts back: the beat's reviewed label and reviewer before ("" / null: not
    # reviewed). The action it belongs to (null for rows written before actions existed: those
    # cannot be undone).
    previous_reviewed_label = models.CharField(max_length=8, blank=True)
    previous_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.ForeignKey(
        ReviewAction, null=True, blank=True, on_delete=models.CASCADE, related_name="corrections"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["recording", "-created_at", "-id"]
        indexes = [models.Index(fields=["recording", "beat"], name="correction_recording_beat")]

    def __str__(self) -> str:
        return f"beat {self.beat_id} -> {self.label} by {self.created_by_id} at {self.created_at}"


class TemplateGrouping(models.Model):
    """A recording's beats grouped by morphology (ecg.features.templates.group_beats), computed
    once so that the templates page does not recluster on every visit."""

    recording = models.OneToOneField(
        Recording, on_delete=models.CASCADE, related_name="template_grouping"
    )
    seed = models.PositiveIntegerField(default=0)
    # One row per group, largest first: indices (beat indices), median_mv, count, share, medoid,
    # class_mix; and the window's time axis (start_s, fs) in "axis".
    groups = models.JSONField(default=list)
    axis = models.JSONField(default=dict)
    seconds = models.FloatField(default=0.0)  # how long the grouping took
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{len(self.groups)} template groups of recording {self.recording_id}"


class EpisodeVerdict(models.Model):
    """The owner's verdict on one rhythm episode -- confirmed, rejected, or corrected (its edges
    moved: the span the owner reads in ``corrected_start_s`` - ``corrected_end_s``) -- or an
    episode the detector missed, added by the owner (``recordings.episode_services``). The
    model's episodes in ``Recording.summary`` are never changed: a verdict keeps the span it was
    given on and is matched to the episodes as they are now when read
    (``recordings.episode_selectors``), so it survives a recount. Rows are never deleted while
    the recording exists (the audit trail): an undo or a later verdict on the same episode marks
    the row withdrawn. ``batch`` ties the rows of one "confirm / reject all of a kind"
    together, so that one undo takes them all back."""

    class Verdict(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"
        ADDED = "added", "Added"
        CORRECTED = "corrected", "Corrected"

    recording = models.ForeignKey(
        Recording, on_delete=models.CASCADE, related_name="episode_verdicts"
    )
    verdict = models.CharField(max_length=9, choices=Verdict.choices)
    kind = models.CharField(max_length=12)  # ecg.features.episodes.EPISODE_KINDS
    # The episode's span when the verdict was given (an added episode: the span entered).
    start_s = models.FloatField()
    end_s = models.FloatField()
    # A correction's span (the episode as the owner reads it); null for every other verdict.
    corrected_start_s = models.FloatField(null=True, blank=True)
    corrected_end_s = models.FloatField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The later verdict on the same episode that took this one's place (null: undone by hand).
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    batch = models.UUIDField(null=True, blank=True)  # one "confirm / reject all of a kind"

    class Meta:
        ordering = ["recording", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["recording", "withdrawn_at"], name="episode_verdict_active")
        ]
        constraints = [
            # a correction has its span and nothing else has one
            models.CheckConstraint(
                condition=(
                    models.Q(
                        verdict="corrected",
                        corrected_start_s__isnull=False,
                        corrected_end_s__isnull=False,
                    )
                    | (
                        ~models.Q(verdict="corrected")
                        & models.Q(corrected_start_s__isnull=True, corrected_end_s__isnull=True)
                    )
                ),
                name="episode_verdict_corrected_span",
            )
        ]

    def __str__(self) -> str:
        return f"{self.verdict} {self.kind} {self.start_s}-{self.end_s} s ({self.recording_id})"

"""Serializers of the rhythm episodes: as the analysis stores them (``summary.episodes``)
and as the recording's owner reviewed them (issue 20): each episode with its state and
verdict, the owner's added episodes, the counts per kind, the verdicts whose episode is gone,
and a verdict written."""

from __future__ import annotations

from rest_framework import serializers

from ecg.features.episodes import EPISODE_KINDS
from recordings.models import EpisodeVerdict

STATES = ["confirmed", "rejected", "corrected", "added", "not reviewed"]


class EpisodeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=list(EPISODE_KINDS),
        help_text="AF (fibrillation / flutter), VT / SVT / VFL runs, IVR (idioventricular "
        "rhythm: a run of 3 or more V beats at <= 100 bpm; the model knows no paced beats, so a "
        "ventricular paced rhythm shows as one), bigeminy, trigeminy, pause "
        "(RR > 2 s), bradycardia (< 50 bpm) or tachycardia (> 100 bpm) for >= 10 s.",
    )
    label = serializers.CharField(help_text="The kind as the page and the PDF name it.")
    start_s = serializers.FloatField(help_text="Seconds from the start of the recording.")
    end_s = serializers.FloatField()
    duration_s = serializers.FloatField()
    beats = serializers.IntegerField(help_text="Beats (or, for a rate episode, RR windows) in it.")


class VerdictSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Withdraw it with POST .../verdicts/{id}/withdraw/.")
    verdict = serializers.ChoiceField(choices=EpisodeVerdict.Verdict.choices)
    by = serializers.CharField(help_text="Who gave it (username).")
    at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    start_s = serializers.FloatField(help_text="The episode's span when the verdict was given.")
    end_s = serializers.FloatField()
    corrected_start_s = serializers.FloatField(
        allow_null=True, help_text="A correction's span, as the owner reads it; null otherwise."
    )
    corrected_end_s = serializers.FloatField(allow_null=True)
    batch = serializers.UUIDField(
        allow_null=True,
        help_text='The "confirm all of a kind" it was part of (undo them together with POST '
        ".../episodes/batches/{batch}/withdraw/); null otherwise.",
    )


class ReviewedEpisodeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    label = serializers.CharField()
    start_s = serializers.FloatField(
        help_text="As reviewed: the owner's span for a corrected episode, else the detected one."
    )
    end_s = serializers.FloatField()
    duration_s = serializers.FloatField()
    beats = serializers.IntegerField(
        allow_null=True,
        help_text="Beats in it: the model's count, or for an episode whose span the owner "
        "corrected the beats in the corrected span (classified, uncertain and reviewed ones; "
        "unreadable ones not counted, as a detected episode holds none), counted when read; "
        "null for an episode the owner added.",
    )
    added = serializers.BooleanField(help_text="Added by the owner (the detector missed it).")
    model_start_s = serializers.FloatField(
        allow_null=True,
        help_text="The detected span (summary.episodes), which names the episode in a verdict; "
        "null for an added episode.",
    )
    model_end_s = serializers.FloatField(allow_null=True)
    state = serializers.ChoiceField(choices=STATES)
    state_text = serializers.CharField(help_text='"confirmed by alice", "not reviewed", ...')
    verdict = VerdictSerializer(allow_null=True, help_text="The verdict that applies; null: none.")


class UnmatchedVerdictSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    label = serializers.CharField()
    start_s = serializers.FloatField(help_text="The verdict's span (a correction's own).")
    end_s = serializers.FloatField()
    duration_s = serializers.FloatField()
    beats = serializers.IntegerField(
        allow_null=True,
        help_text="A correction's: the beats in its corrected span; null for the others (their "
        "episode and its count are gone).",
    )
    reason = serializers.CharField(
        help_text='"episode gone" (no episode of its kind overlaps it after a recount) or "its '
        'episode has a later verdict" (a recount merged two episodes with verdicts).'
    )
    state = serializers.ChoiceField(choices=STATES)
    state_text = serializers.CharField()
    verdict = VerdictSerializer()


class EpisodeCountSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    label = serializers.CharField()
    count = serializers.IntegerField()
    total_s = serializers.FloatField()


class EpisodesReviewedSerializer(serializers.Serializer):
    computed = serializers.BooleanField(
        help_text="False for a recording analysed before episodes were detected."
    )
    episodes = ReviewedEpisodeSerializer(many=True, source="rows")
    counts = EpisodeCountSerializer(
        many=True, help_text="Per kind: rejected episodes left out, added ones counted in."
    )
    rejected = serializers.IntegerField(help_text="Episodes rejected (left out of the counts).")
    unmatched = UnmatchedVerdictSerializer(
        many=True, help_text="Verdicts that apply to no episode now: listed, never dropped."
    )


class EpisodeVerdictCreateSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=EpisodeVerdict.Verdict.choices,
        help_text="confirmed / rejected / corrected: the episode of this kind, start and end (as "
        "listed: the detected span, or a corrected one's); added: a new episode over this span.",
    )
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    corrected_start_s = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="corrected only: the episode's span as the owner reads it (within the "
        "recording, end after start, not the detected span).",
    )
    corrected_end_s = serializers.FloatField(required=False, allow_null=True, default=None)


class EpisodeKindVerdictSerializer(serializers.Serializer):
    """What confirm-kind/ and reject-kind/ take: the kind, the count seen, an optional note."""

    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    expected = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="How many episodes of the kind without a verdict the client saw: refused (400, "
        "nothing written) when a recount changed that number since.",
    )
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EpisodeBatchSerializer(serializers.Serializer):
    batch = serializers.UUIDField(
        help_text="Undo them together: POST .../batches/{batch}/withdraw/."
    )
    verdict = serializers.ChoiceField(
        choices=["confirmed", "rejected"], help_text="The verdict the batch gave."
    )
    confirmed = serializers.IntegerField(
        help_text="Episodes confirmed (or, on a withdraw, confirmations withdrawn) in it; 0 for "
        "a reject batch."
    )
    rejected = serializers.IntegerField(
        help_text="Episodes rejected (or rejections withdrawn) in it; 0 for a confirm batch."
    )
    episodes = EpisodesReviewedSerializer(help_text="The episodes as GET .../episodes/ gives them.")


class EpisodeVerdictRowSerializer(serializers.ModelSerializer):
    """One row of the audit trail, withdrawn or not."""

    created_by = serializers.SerializerMethodField()
    withdrawn_by = serializers.SerializerMethodField()

    class Meta:
        model = EpisodeVerdict
        fields = [
            "id", "verdict", "kind", "start_s", "end_s", "corrected_start_s", "corrected_end_s",
            "note", "created_by", "created_at", "withdrawn_at", "withdrawn_by", "replaced_by",
            "batch",
        ]  # fmt: skip

    def get_created_by(self, obj) -> str:
        return obj.created_by.get_username() if obj.created_by else ""

    def get_withdrawn_by(self, obj) -> str:
        return obj.withdrawn_by.get_username() if obj.withdrawn_by else ""

"""Serializers of the rhythm episodes: as the analysis stores them (``summary.episodes``)
and as the recording's owner reviewed them (issue 20): each episode with its state and
verdict, the owner's added episodes, the counts per kind, the verdicts whose episode is gone,
and a verdict written."""

from __future__ import annotations

from rest_framework import serializers

from ecg.features.episodes import EPISODE_KINDS
from recordings.models import EpisodeVerdict

STATES = ["confirmed", "rejected", "added", "not reviewed"]


class EpisodeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=list(EPISODE_KINDS),
        help_text="AF (fibrillation / flutter), VT / SVT / VFL runs, bigeminy, trigeminy, "
        "pause (RR > 2 s), bradycardia (< 50 bpm) or tachycardia (> 100 bpm) for >= 10 s.",
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


class ReviewedEpisodeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    label = serializers.CharField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    duration_s = serializers.FloatField()
    beats = serializers.IntegerField(
        allow_null=True, help_text="Beats in it; null for an episode the owner added."
    )
    added = serializers.BooleanField(help_text="Added by the owner (the detector missed it).")
    state = serializers.ChoiceField(choices=STATES)
    state_text = serializers.CharField(help_text='"confirmed by alice", "not reviewed", ...')
    verdict = VerdictSerializer(allow_null=True, help_text="The verdict that applies; null: none.")


class UnmatchedVerdictSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    label = serializers.CharField()
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
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
        help_text="confirmed / rejected: the episode of this kind, start and end (as listed); "
        "added: a new episode over this span.",
    )
    kind = serializers.ChoiceField(choices=list(EPISODE_KINDS))
    start_s = serializers.FloatField()
    end_s = serializers.FloatField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EpisodeVerdictRowSerializer(serializers.ModelSerializer):
    """One row of the audit trail, withdrawn or not."""

    created_by = serializers.SerializerMethodField()
    withdrawn_by = serializers.SerializerMethodField()

    class Meta:
        model = EpisodeVerdict
        fields = [
            "id", "verdict", "kind", "start_s", "end_s", "note", "created_by", "created_at",
            "withdrawn_at", "withdrawn_by", "replaced_by",
        ]  # fmt: skip

    def get_created_by(self, obj) -> str:
        return obj.created_by.get_username() if obj.created_by else ""

    def get_withdrawn_by(self, obj) -> str:
        return obj.withdrawn_by.get_username() if obj.withdrawn_by else ""

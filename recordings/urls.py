from django.urls import path

from . import views

app_name = "recordings"

urlpatterns = [
    path("", views.recording_list_view, name="list"),
    path("upload/", views.recording_upload_view, name="upload"),
    path("<int:pk>/", views.recording_detail_view, name="detail"),
    path("<int:pk>/status.json", views.recording_status_view, name="status"),
    path("<int:pk>/strip.json", views.recording_strip_view, name="strip"),
    path("<int:pk>/find.json", views.recording_find_view, name="find"),
    path("<int:pk>/beats/<int:index>.json", views.recording_beat_view, name="beat"),
    path("<int:pk>/beats/<int:index>.png", views.recording_beat_png_view, name="beat_png"),
    path("<int:pk>/beats.csv", views.recording_csv_view, name="csv"),
    path("<int:pk>/episodes.csv", views.recording_episodes_csv_view, name="episodes_csv"),
    path("<int:pk>/images/<str:label>.zip", views.recording_zip_view, name="zip"),
    path("<int:pk>/templates/", views.recording_templates_view, name="templates"),
    path(
        "<int:pk>/templates/<int:group>/relabel/",
        views.recording_template_relabel_view,
        name="template_relabel",
    ),
    path("<int:pk>/correct/", views.recording_correct_view, name="correct"),
    path("<int:pk>/suggest/", views.recording_suggest_view, name="suggest"),
    path("<int:pk>/undo/", views.recording_undo_view, name="undo"),
    path("<int:pk>/redo/", views.recording_redo_view, name="redo"),
    path(
        "<int:pk>/actions/<int:action_id>/undo/",
        views.recording_action_undo_view,
        name="action_undo",
    ),
    path(
        "<int:pk>/episodes/verdicts/",
        views.recording_episode_verdict_view,
        name="episode_verdict",
    ),
    path(
        "<int:pk>/episodes/verdicts/<int:verdict_id>/withdraw/",
        views.recording_episode_verdict_withdraw_view,
        name="episode_verdict_withdraw",
    ),
    path(
        "<int:pk>/episodes/confirm-kind/",
        views.recording_episode_confirm_kind_view,
        name="episode_confirm_kind",
    ),
    path(
        "<int:pk>/episodes/reject-kind/",
        views.recording_episode_reject_kind_view,
        name="episode_reject_kind",
    ),
    path(
        "<int:pk>/episodes/batches/<uuid:batch>/withdraw/",
        views.recording_episode_batch_withdraw_view,
        name="episode_batch_withdraw",
    ),
    path("<int:pk>/beats.atr", views.recording_atr_view, name="atr"),
    path("<int:pk>/retry/", views.recording_retry_view, name="retry"),
    path("<int:pk>/delete/", views.recording_delete_view, name="delete"),
]

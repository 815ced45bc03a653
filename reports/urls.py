from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("predictions/<int:pk>/heatmap.png", views.prediction_heatmap, name="prediction-heatmap"),
    path("predictions/<int:pk>/report.pdf", views.prediction_report, name="prediction-report"),
    path(
        "recordings/<int:pk>/heatmaps/<int:index>.png",
        views.recording_beat_heatmap,
        name="recording-beat-heatmap",
    ),
    path("recordings/<int:pk>/report.pdf", views.recording_report, name="recording-report"),
]

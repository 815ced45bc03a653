from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("predictions/<int:pk>/heatmap.png", views.prediction_heatmap, name="prediction-heatmap"),
    path("predictions/<int:pk>/report.pdf", views.prediction_report, name="prediction-report"),
]

from django.urls import path

from classifier import views

app_name = "classifier"

urlpatterns = [
    path("new/", views.upload, name="upload"),
    path("results/", views.batch, name="batch"),
    path("export.csv", views.export_csv, name="export"),
    path("format-example/<str:kind>.png", views.format_example, name="format_example"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/image/", views.image, name="image"),
    path("<int:pk>/delete/", views.delete, name="delete"),
]

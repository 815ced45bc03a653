from django.urls import path

from pages import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    # the history of images and recordings together: above both apps, at its old address
    path("predictions/", views.history, name="history"),
    path("classes/", views.classes, name="classes"),
    path("classes/<slug:slug>/", views.class_info, name="class_info"),
    path("about/", views.about, name="about"),
    path("contact/", views.contact, name="contact"),
    path("favicon.ico", views.favicon, name="favicon"),
]

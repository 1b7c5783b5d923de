from django.urls import path

from . import views

app_name = "ops"

urlpatterns = [
    path("settings/developer/alerts/", views.alert_settings, name="alert_settings"),
]

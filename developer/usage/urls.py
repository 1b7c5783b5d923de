from django.urls import path

from . import api, views

app_name = "usage"

api_urlpatterns = [
    path("usage", api.UsageView.as_view()),
]

# Settings → Developer → Usage (server-rendered, htmx partials).
urlpatterns = [
    path("settings/developer/usage/", views.usage, name="usage"),
    path("settings/developer/usage/export.csv", views.usage_csv, name="usage_csv"),
    path("settings/developer/usage/keys/<str:key_id>/", views.key_usage, name="key_usage"),
]

from django.urls import path, re_path

from . import api

app_name = "developer"

api_urlpatterns = [
    path("keys", api.KeyListCreate.as_view()),
    path("keys/<str:key_id>/revoke", api.KeyRevoke.as_view()),
    path("keys/<str:key_id>/rotate", api.KeyRotate.as_view()),
]

catch_all_api_urlpatterns = [re_path(r"^.*$", api.UnknownRoute.as_view())]

urlpatterns: list = []

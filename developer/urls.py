from django.urls import path, re_path

from . import api, members, views
from .public_api import docs
from .public_api.base import UnknownRoute

app_name = "developer"

api_urlpatterns = [
    path("keys", api.KeyListCreate.as_view()),
    path("keys/<str:key_id>", api.KeyDetail.as_view()),
    path("keys/<str:key_id>/revoke", api.KeyRevoke.as_view()),
    path("keys/<str:key_id>/rotate", api.KeyRotate.as_view()),
]

catch_all_api_urlpatterns = [re_path(r"^.*$", UnknownRoute.as_view())]

# Settings → Developer dashboard (server-rendered, htmx partials).
urlpatterns = [
    path("settings/developer/", views.home, name="home"),
    path("settings/developer/organization/", views.choose_org, name="choose_org"),
    path("settings/developer/viewing-mode/", views.viewing_mode_switch, name="viewing_mode"),
    path("settings/developer/keys/", views.keys, name="keys"),
    path("settings/developer/keys/new/", views.key_create, name="key_create"),
    path("settings/developer/keys/quickstart/", views.key_quickstart, name="key_quickstart"),
    path("settings/developer/keys/<str:key_id>/rotate/", views.key_rotate, name="key_rotate"),
    path("settings/developer/keys/<str:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path("settings/developer/logs/", views.logs, name="logs"),
    path("settings/developer/logs/<str:request_id>/", views.log_detail, name="log_detail"),
    path("settings/developer/audit/", views.audit, name="audit"),
    path("settings/developer/docs/", docs.api_docs, name="docs"),
    path("settings/developer/access/", views.access, name="access"),
    path("settings/developer/access/<str:request_id>/withdraw/", views.access_withdraw, name="access_withdraw"),
    path("settings/developer/security/", views.security, name="security"),
    path("settings/developer/security/two-factor/", views.security_two_factor, name="security_two_factor"),
    path("settings/developer/members/", members.members, name="members"),
    path("settings/developer/members/invite/", members.member_invite, name="member_invite"),
    path("settings/developer/members/<int:membership_id>/role/", members.member_role, name="member_role"),
    path("settings/developer/members/<int:membership_id>/remove/", members.member_remove, name="member_remove"),
    path(
        "settings/developer/members/invitations/<str:invitation_id>/resend/",
        members.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "settings/developer/members/invitations/<str:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", members.invitation_accept, name="invitation_accept"),
    path("", views.root),
]

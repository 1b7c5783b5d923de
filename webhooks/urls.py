from django.urls import path

from . import api, views

app_name = "webhooks"

api_urlpatterns = [
    path("webhooks", api.WebhookListCreate.as_view()),
    path("webhooks/<str:webhook_id>", api.WebhookDetail.as_view()),
    path("webhooks/<str:webhook_id>/test", api.WebhookTest.as_view()),
    path("webhooks/<str:webhook_id>/rotate-secret", api.WebhookRotateSecret.as_view()),
    path("webhooks/<str:webhook_id>/recover", api.WebhookRecover.as_view()),
    path("webhooks/<str:webhook_id>/deliveries", api.DeliveryList.as_view()),
    path("webhooks/<str:webhook_id>/deliveries/<str:delivery_id>", api.DeliveryDetail.as_view()),
    path("webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/replay", api.DeliveryReplay.as_view()),
    path("events", api.EventList.as_view()),
    path("events/<str:event_id>", api.EventDetail.as_view()),
]

# Settings → Developer → Webhooks.
_BASE = "settings/developer/webhooks/"
urlpatterns = [
    path(_BASE, views.endpoints, name="endpoints"),
    path(_BASE + "new/", views.endpoint_create, name="endpoint_create"),
    path(_BASE + "<str:webhook_id>/", views.endpoint_detail, name="endpoint"),
    path(_BASE + "<str:webhook_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path(_BASE + "<str:webhook_id>/test/", views.endpoint_test, name="endpoint_test"),
    path(_BASE + "<str:webhook_id>/secret/", views.endpoint_reveal_secret, name="endpoint_secret"),
    path(_BASE + "<str:webhook_id>/rotate/", views.endpoint_rotate, name="endpoint_rotate"),
    path(_BASE + "<str:webhook_id>/toggle/", views.endpoint_toggle, name="endpoint_toggle"),
    path(_BASE + "<str:webhook_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path(_BASE + "<str:webhook_id>/recover/", views.endpoint_recover, name="endpoint_recover"),
    path(_BASE + "<str:webhook_id>/deliveries/<str:delivery_id>/", views.delivery_detail, name="delivery"),
    path(
        _BASE + "<str:webhook_id>/deliveries/<str:delivery_id>/replay/", views.delivery_replay, name="delivery_replay"
    ),
]

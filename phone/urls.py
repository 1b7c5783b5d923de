from django.urls import path

from . import api, views

app_name = "phone"

api_urlpatterns = [
    path("calls", api.CallList.as_view()),
    path("calls/<str:call_id>", api.CallDetail.as_view()),
    path("calls/<str:call_id>/transcript", api.CallTranscript.as_view()),
    path("calls/<str:call_id>/recording", api.CallRecording.as_view()),
    path("contacts", api.ContactListCreate.as_view()),
    path("contacts/<str:contact_id>", api.ContactDetail.as_view()),
    path("messages", api.MessageListCreate.as_view()),
    path("messages/<str:message_id>", api.MessageDetail.as_view()),
    path("knowledge-bases", api.KnowledgeBaseList.as_view()),
    path("knowledge-bases/<str:knowledge_base_id>", api.KnowledgeBaseDetail.as_view()),
    path("config", api.AiConfigView.as_view()),
]

urlpatterns = [
    path("media/recordings/<str:recording_id>", views.recording_media, name="recording-media"),
    path("hooks/sms/inbound", views.sms_inbound_webhook, name="sms-inbound"),
    path("hooks/sms/status", views.sms_status_webhook, name="sms-status"),
]

from django.urls import path

from . import api, views

app_name = "agents"

api_urlpatterns = [
    path("tools", api.ToolListCreate.as_view()),
    path("tools/<str:tool_id>", api.ToolDetail.as_view()),
    path("agents", api.AgentListCreate.as_view()),
    path("agents/<str:agent_id>", api.AgentDetail.as_view()),
    path("data-fields", api.DataFieldListCreate.as_view()),
    path("data-fields/<str:field_id>", api.DataFieldDetail.as_view()),
]

# Settings → Developer → Custom tools and Agents.
urlpatterns = [
    path("settings/developer/tools/", views.tools, name="tools"),
    path("settings/developer/tools/new/", views.tool_create, name="tool_create"),
    path("settings/developer/tools/schema-check/", views.schema_check, name="schema_check"),
    path("settings/developer/tools/signing-secret/", views.signing_secret, name="signing_secret"),
    path("settings/developer/tools/invocations/", views.invocations, name="invocations"),
    path(
        "settings/developer/tools/invocations/<str:invocation_id>/", views.invocation_detail, name="invocation_detail"
    ),
    path("settings/developer/tools/<str:tool_id>/", views.tool_edit, name="tool_edit"),
    path("settings/developer/tools/<str:tool_id>/test/", views.tool_test, name="tool_test"),
    path("settings/developer/tools/<str:tool_id>/delete/", views.tool_delete, name="tool_delete"),
    path("settings/developer/tools/<str:tool_id>/copy-to-live/", views.tool_copy_to_live, name="tool_copy_to_live"),
    path("settings/developer/agents/", views.agents, name="agents"),
    path("settings/developer/agents/new/", views.agent_create, name="agent_create"),
    path("settings/developer/agents/route/", views.try_routing, name="try_routing"),
    path("settings/developer/agents/fields/new/", views.data_field_create, name="data_field_create"),
    path("settings/developer/agents/fields/<str:field_id>/delete/", views.data_field_delete, name="data_field_delete"),
    path(
        "settings/developer/agents/fields/<str:field_id>/copy-to-live/",
        views.data_field_copy_to_live,
        name="data_field_copy_to_live",
    ),
    path("settings/developer/agents/<str:agent_id>/", views.agent_edit, name="agent_edit"),
    path("settings/developer/agents/<str:agent_id>/toggle/", views.agent_toggle, name="agent_toggle"),
    path("settings/developer/agents/<str:agent_id>/delete/", views.agent_delete, name="agent_delete"),
    path("settings/developer/agents/<str:agent_id>/copy-to-live/", views.agent_copy_to_live, name="agent_copy_to_live"),
]

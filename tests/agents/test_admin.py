"""Staff admin pages for tools, invocations and signing secrets never show a credential or secret."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Organization
from agents.models import CustomTool, ToolInvocation, ToolSigningSecret
from agents.services import agent_create, signing_secret_for, tool_invoke
from tests.webhooks.receiver import Receiver

from .conftest import TOKEN

pytestmark = pytest.mark.django_db


def test_admin_lists_and_pages_show_only_masks(org: Organization, tool: CustomTool, endpoint: Receiver) -> None:
    tool_invoke(tool=tool, arguments={"orderNumber": "A-1"}, call_session_id="c", mode="live")
    agent = agent_create(organization=org, agent_key="a", display_name="A", instructions="A.", actor=None)
    signing = signing_secret_for(organization=org)
    staff = get_user_model().objects.create_superuser("staff", "staff@aiphone360.test", "pw-staff-123")
    client = Client()
    client.force_login(staff)

    invocation = ToolInvocation.objects.get()
    pages = [
        "/admin/agents/customtool/",
        f"/admin/agents/customtool/{tool.pk}/change/",
        "/admin/agents/toolinvocation/",
        f"/admin/agents/toolinvocation/{invocation.pk}/change/",
        "/admin/agents/toolsigningsecret/",
        f"/admin/agents/toolsigningsecret/{signing.pk}/change/",
        "/admin/agents/agent/",
        f"/admin/agents/agent/{agent.pk}/change/",
        "/admin/agents/datacollectionfield/",
    ]
    for url in pages:
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        for secret in (TOKEN, signing.secret, tool.auth_secret_encrypted, signing.secret_encrypted):
            assert secret not in html, url
    assert "••••3921" in client.get("/admin/agents/customtool/").content.decode()
    assert ToolSigningSecret.objects.get().masked in client.get("/admin/agents/toolsigningsecret/").content.decode()

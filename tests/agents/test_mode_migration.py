"""The migration that gave agents, data fields and tools a mode: what existed becomes live, invocations keep
the mode they already carried, and afterwards the same names may exist once per mode."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.conftest import make_org

BEFORE = [("agents", "0003_reencrypt_secrets_under_field_encryption_key")]
AFTER = [("agents", "0004_mode_on_agents_fields_and_tools")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_definitions_become_live_and_invocations_keep_their_mode() -> None:
    org = make_org()
    try:
        old = _migrate(BEFORE)
        tool = old.get_model("agents", "CustomTool").objects.create(
            organization_id=org.pk,
            name="lookup_order",
            description="d",
            input_schema={"type": "object"},
            endpoint_url="https://tools.example.com/x",
        )
        agent = old.get_model("agents", "Agent").objects.create(
            organization_id=org.pk, agent_key="desk", display_name="Desk", instructions="i", is_default=True
        )
        old.get_model("agents", "DataCollectionField").objects.create(
            organization_id=org.pk, agent_id=agent.pk, key="email", label="Email"
        )
        invocation = old.get_model("agents", "ToolInvocation").objects.create(
            invocation_id="inv_1", organization_id=org.pk, tool_id=tool.pk, tool_name="lookup_order", mode="test"
        )

        new = _migrate(AFTER)
        for model in ("CustomTool", "Agent", "DataCollectionField"):
            assert list(new.get_model("agents", model).objects.values_list("mode", flat=True)) == ["live"], model
        assert new.get_model("agents", "ToolInvocation").objects.get(pk=invocation.pk).mode == "test"

        # The same name, key and default greeter may now exist once more, in test mode; not twice in one mode.
        Tool, Agent = new.get_model("agents", "CustomTool"), new.get_model("agents", "Agent")
        Tool.objects.create(
            organization_id=org.pk,
            mode="test",
            name="lookup_order",
            description="d",
            input_schema={"type": "object"},
            endpoint_url="https://tools.example.com/x",
        )
        Agent.objects.create(
            organization_id=org.pk, mode="test", agent_key="desk", display_name="D", instructions="i", is_default=True
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            Agent.objects.create(
                organization_id=org.pk,
                mode="test",
                agent_key="other",
                display_name="O",
                instructions="i",
                is_default=True,
            )
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

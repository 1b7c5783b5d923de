"""Play one demo call through the agents: caller → greeter → specialist → signed tool call → webhook."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from core.modes import Mode
from demo.seed import DEMO_ORG_NAME
from demo.simulator import simulate_handoff_call


class Command(BaseCommand):
    help = (
        "Play one call: route what the caller says through the business's greeter to a specialist, let it "
        "call its custom tool for real, and finish the call so `call.completed` goes to the webhooks "
        "(test mode by default: flagged and never billed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("utterance", help='What the caller says, e.g. "I have a question about my bill".')
        parser.add_argument("--org", default=None, help="Business id (biz_...). Default: the demo organisation.")
        parser.add_argument("--tool", default=None, help="Name of the tool to call (default: the specialist's first).")
        parser.add_argument("--arguments", default=None, help="Tool arguments as JSON (default: from the schema).")
        parser.add_argument(
            "--mode",
            choices=Mode.values,
            default=Mode.TEST,
            help="test (default): routes through the test agents and calls test tools, flagged and never billed; "
            "live: the live agents and tools, metered.",
        )
        parser.add_argument("--live", action="store_true", help="The same as --mode live.")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["org"]:
            organization = Organization.objects.filter(public_id=opts["org"]).first()
        else:
            organization = Organization.objects.filter(name=DEMO_ORG_NAME).first()
        if organization is None:
            raise CommandError("No such organisation: pass --org biz_… or run `manage.py seed_demo`.")
        try:
            arguments = json.loads(opts["arguments"]) if opts["arguments"] else None
        except ValueError as exc:
            raise CommandError(f"--arguments is not valid JSON: {exc}") from exc
        mode = Mode.LIVE if opts["live"] else opts["mode"]
        played = simulate_handoff_call(
            organization=organization,
            utterance=opts["utterance"],
            mode=mode,
            tool_name=opts["tool"],
            arguments=arguments,
        )
        self.stdout.write(f"• {mode.capitalize()} mode: only the {mode} agents and tools take part.")
        for step in played.steps:
            self.stdout.write(f"• {step}")
        if played.trace.result is not None:
            self.stdout.write(json.dumps(played.trace.result.for_ai(), indent=2, ensure_ascii=False))

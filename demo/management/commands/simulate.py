import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from core.modes import Mode
from demo.seed import DEMO_ORG_NAME
from demo.simulator import simulate_traffic


class Command(BaseCommand):
    help = (
        "Simulate calls (with transcripts, recordings, voicemails and bookings) and inbound texts for a "
        "business, through the same services and events as real traffic."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", default=None, help="Business id (biz_...). Default: the demo organisation.")
        parser.add_argument("--calls", type=int, required=True, help="Number of calls to create.")
        parser.add_argument("--days", type=int, default=7, help="Spread the calls over this many past days.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable traffic.")
        parser.add_argument(
            "--mode",
            choices=list(Mode.values),
            default=Mode.LIVE,
            help="live (default) or test: test calls use the test AI config and show only to test keys.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["calls"] < 1:
            raise CommandError("--calls must be at least 1")
        if opts["days"] < 1:
            raise CommandError("--days must be at least 1")
        if opts["org"]:
            organization = Organization.objects.filter(public_id=opts["org"]).first()
            if organization is None:
                raise CommandError(f"No organisation with id {opts['org']!r}.")
        else:
            organization = Organization.objects.filter(name=DEMO_ORG_NAME).first()
            if organization is None:
                raise CommandError("No demo organisation yet: run `manage.py seed_demo` or pass --org.")
        report = simulate_traffic(
            organization=organization,
            calls=opts["calls"],
            days=opts["days"],
            rng=random.Random(opts["seed"]),
            mode=opts["mode"],
        )
        where = " in test mode" if opts["mode"] == Mode.TEST else ""
        self.stdout.write(f"Simulated for {organization.name} ({organization.public_id}){where}: {report}.")

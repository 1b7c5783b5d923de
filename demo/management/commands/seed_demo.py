from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.phone_seed import demo_phone_seed
from demo.seed import DEMO_EMAIL, DEMO_PASSWORD, demo_organization, demo_test_key


class Command(BaseCommand):
    help = "Load the demo organisation (idempotent) and print how to reach it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **opts: Any) -> None:
        org = demo_organization()
        secret = demo_test_key(org)
        # Phone data (calls, transcripts, texts...) through phone's services, so events fire as for real traffic.
        traffic = demo_phone_seed(org)
        if traffic is not None:
            self.stdout.write(f"  Demo phone data: {traffic}.")
        base = f"http://127.0.0.1:{opts['port']}"
        self.stdout.write(
            "\n"
            f"  AI Phone 360 developer platform is starting on {base}/\n"
            f"  Dashboard: {base}/settings/developer/   login {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
            f"  Demo test key: {secret}\n"
            f"  Try: curl -H 'Authorization: Bearer {secret}' {base}/api/public/v1/keys\n"
        )

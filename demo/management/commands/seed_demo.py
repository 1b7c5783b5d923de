from typing import Any

from django.core.management.base import BaseCommand

from demo.phone_seed import demo_phone_seed
from demo.seed import demo_organization, demo_test_key


class Command(BaseCommand):
    help = "Load the demo organisation (idempotent); `demo_banner` prints how to reach it."

    def handle(self, *args: Any, **opts: Any) -> None:
        org = demo_organization()
        demo_test_key(org)
        # Phone data (calls, transcripts, texts...) through phone's services, so events fire as for real traffic.
        traffic = demo_phone_seed(org)
        if traffic is not None:
            self.stdout.write(f"  Demo phone data: {traffic}.")
        # How to reach it is printed by `demo_banner` once the server and the workers are up (make run).
        self.stdout.write(f"  Demo organisation “{org.name}” ready, with a test key for the Quickstart.")

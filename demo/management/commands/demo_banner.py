from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.seed import demo_organization, demo_test_key
from demo.startup import banner, wait_until_up


class Command(BaseCommand):
    help = "Wait until the web server and the Celery workers are up, then print how to reach the demo (make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")
        parser.add_argument("--workers", type=int, default=3, help="Celery workers to wait for.")
        parser.add_argument("--since", type=float, default=0.0, help="Unix time the workers were started at.")
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args: Any, **opts: Any) -> None:
        base = f"http://127.0.0.1:{opts['port']}"
        waited = wait_until_up(
            health_url=f"{base}/healthz", workers=opts["workers"], since=opts["since"], timeout=opts["timeout"]
        )
        if not waited.web:
            self.stderr.write(f"  The web server did not answer on {base} within {opts['timeout']:.0f} s.")
        if waited.workers < opts["workers"]:
            self.stderr.write(
                f"  {waited.workers} of {opts['workers']} Celery workers started within {opts['timeout']:.0f} s; "
                "their logs are in var/log/."
            )
        self.stdout.write(banner(base=base, secret=demo_test_key(demo_organization())))

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # The one upward call: billing announces a funded wallet, webhooks releases what it held.
        from billing.signals import wallet_funded

        from .delivery import release_held_when_funded

        wallet_funded.connect(release_held_when_funded, dispatch_uid="webhooks.release_held_when_funded")

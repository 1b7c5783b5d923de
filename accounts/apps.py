from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from . import signin  # noqa: F401  (connects the sign-in time receiver)

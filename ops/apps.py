from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the platform: health, metrics, structured logs, error reports, business alerts, the staff page."""

    name = "ops"

    def ready(self) -> None:
        from . import instrument

        instrument.connect()

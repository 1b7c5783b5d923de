from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo seed and the call simulator: may import every feature app; nothing imports it."""

    name = "demo"

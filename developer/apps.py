from django.apps import AppConfig


class DeveloperConfig(AppConfig):
    name = "developer"
    verbose_name = "Developer platform"

    def ready(self) -> None:
        from .public_api import openapi  # noqa: F401 - registers the API-key security scheme with drf-spectacular

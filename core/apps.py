from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Plumbing that knows no business concept: ids, errors, SQL, caches, limits, cursors, HTTP, signing, time."""

    name = "core"

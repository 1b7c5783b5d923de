"""Live and test mode: the one vocabulary every app uses for the sandbox split (spec, "Test mode")."""

from django.db import models


class Mode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


MODE_MAX_LENGTH = 4

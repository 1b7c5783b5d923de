"""Settings for mypy's django-stubs plugin: the real settings, importable with no environment.

config/settings.py refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEY when DEBUG is off;
the type checker only needs the installed apps and models, so it gets placeholder keys. Never used to serve
requests.
"""

import os

os.environ.setdefault("SECRET_KEY", "typecheck-only-not-a-secret")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "typecheck-only-not-a-secret")

from config.settings import *  # noqa: F403

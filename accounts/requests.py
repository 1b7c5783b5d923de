"""Request types for type checking: what login and the dashboard decorator guarantee on a request.

Django types `request.user` as a user or an anonymous user, and knows nothing of the attributes
our decorators set. Views behind `login_required` / `dashboard_view` annotate their request with
these instead (the pattern django-stubs documents), so attribute access is checked, not guessed.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedHttpRequest(HttpRequest):
    """A request behind `login_required`: the user is signed in."""

    user: User  # narrower than `User | AnonymousUser`: login_required let the request in

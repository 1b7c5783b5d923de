"""allauth's account adapter: organisations and their people are provisioned (the CLI, the demo seed,
our team), so nobody signs themselves up; and a fresh sign-in counts as a recent authentication."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.http import HttpRequest

from .signin import recently_authenticated


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth's own sensitive pages (setting up or removing TOTP, recovery codes) follow the same sudo
        window as ours: a sign-in within it is enough, as a password confirmation is."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = context.request
        return request is None or not recently_authenticated(request)

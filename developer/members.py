"""Settings → Developer → Members: invite by e-mail with a role, resend or withdraw an invitation, change a
role, remove a member, and the invitation link itself (accepted as a new or an existing user).

Every action is one `accounts.services` function (audited and e-mailed there); owners and admins manage,
only owners touch the owner role, viewers see the list read-only. Role changes and removals need a recent
sign-in, like every other change that hands out or takes away power."""

from __future__ import annotations

from typing import Any

from allauth.account.utils import perform_login
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services as accounts_services
from accounts.models import Invitation, Membership, Role
from accounts.signin import require_recent_authentication

from .dashboard import SESSION_ORG_KEY, HtmxHttpRequest, dashboard_view, require_manager


def _name(user: User) -> str:
    return user.email or user.get_username()


def _members_context(request: HtmxHttpRequest, **extra: Any) -> dict[str, Any]:
    members = list(
        Membership.objects.filter(organization=request.organization).select_related("user").order_by("user__email")
    )
    with_totp = set(
        Authenticator.objects.filter(user__in=[m.user_id for m in members], type=Authenticator.Type.TOTP).values_list(
            "user_id", flat=True
        )
    )
    is_owner = request.membership.role == Role.OWNER
    owners = sum(m.role == Role.OWNER for m in members)
    rows = [
        {
            "membership": m,
            "totp": m.user_id in with_totp,
            "is_me": m.user_id == request.user.pk,
            # What this person may do to that member (the services refuse the rest anyway).
            "editable": request.membership.can_manage and (is_owner or m.role != Role.OWNER),
            "last_owner": m.role == Role.OWNER and owners == 1,
        }
        for m in members
    ]
    invitations = Invitation.objects.filter(
        organization=request.organization, accepted_at=None, revoked_at=None
    ).select_related("invited_by")
    roles = Role.choices if is_owner else [(v, label) for v, label in Role.choices if v != Role.OWNER]
    return {
        "rows": rows,
        "invitations": list(invitations),
        "roles": roles,
        "is_owner": is_owner,
        "values": {"email": "", "role": Role.VIEWER},
        "errors": {},
        **extra,
    }


@require_GET
@dashboard_view
def members(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "developer/members.html", _members_context(request))


@require_POST
@dashboard_view
def member_invite(request: HtmxHttpRequest) -> HttpResponse:
    require_manager(request)
    values = {"email": request.POST.get("email", ""), "role": request.POST.get("role", "")}
    try:
        invitation = accounts_services.invitation_create(
            organization=request.organization, email=values["email"], role=values["role"], actor=request.user
        )
    except ValidationError as exc:
        context = _members_context(request, values=values, errors=exc.message_dict)
        return render(request, "developer/members.html", context, status=400)
    messages.success(
        request,
        f"Invitation sent to {invitation.email} as {invitation.get_role_display()}. The link works for "
        f"{accounts_services.INVITATION_MAX_AGE.days} days.",
    )
    return redirect("developer:members")


def _invitation_for(request: HtmxHttpRequest, invitation_id: str) -> Invitation:
    invitation = Invitation.objects.filter(organization=request.organization, public_id=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


@require_POST
@dashboard_view
def invitation_resend(request: HtmxHttpRequest, invitation_id: str) -> HttpResponse:
    require_manager(request)
    invitation = _invitation_for(request, invitation_id)
    try:
        accounts_services.invitation_resend(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Invitation sent again to {invitation.email}; the earlier link no longer works.")
    return redirect("developer:members")


@require_POST
@dashboard_view
def invitation_revoke(request: HtmxHttpRequest, invitation_id: str) -> HttpResponse:
    require_manager(request)
    invitation = _invitation_for(request, invitation_id)
    try:
        accounts_services.invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Invitation to {invitation.email} withdrawn: its link no longer works.")
    return redirect("developer:members")


def _membership_for(request: HtmxHttpRequest, membership_id: int) -> Membership:
    membership = (
        Membership.objects.filter(organization=request.organization, pk=membership_id).select_related("user").first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


@require_POST
@dashboard_view
def member_role(request: HtmxHttpRequest, membership_id: int) -> HttpResponse:
    require_manager(request)
    membership = _membership_for(request, membership_id)
    if reauthenticate := require_recent_authentication(request):
        return reauthenticate
    try:
        membership = accounts_services.membership_role_change(
            membership=membership, role=request.POST.get("role", ""), actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("developer:members")
    messages.success(request, f"{_name(membership.user)} is now {membership.get_role_display()}.")
    return redirect("developer:members")


@require_POST
@dashboard_view
def member_remove(request: HtmxHttpRequest, membership_id: int) -> HttpResponse:
    require_manager(request)
    membership = _membership_for(request, membership_id)
    if reauthenticate := require_recent_authentication(request):
        return reauthenticate
    try:
        accounts_services.membership_remove(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("developer:members")
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {request.organization.name}.")
        return redirect("developer:home")
    messages.success(request, f"{_name(membership.user)} was removed from {request.organization.name}.")
    return redirect("developer:members")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation e-mail. Not a dashboard view: the invitee has no membership yet."""
    try:
        invitation = accounts_services.invitation_for_token(token)
    except ValidationError as exc:
        return render(request, "developer/invitation_accept.html", {"problem": " ".join(exc.messages)}, status=410)
    user = request.user if request.user.is_authenticated else None
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    context: dict[str, Any] = {"invitation": invitation, "has_account": has_account, "errors": {}}
    if user is None and has_account:
        context["login_url"] = f"{reverse('account_login')}?next={request.path}"
    if request.method == "POST":
        try:
            membership = accounts_services.invitation_accept(
                token=token, user=user, password=request.POST.get("password", "") if user is None else ""
            )
        except ValidationError as exc:
            context["errors"] = exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}
            return render(request, "developer/invitation_accept.html", context, status=400)
        if user is None:
            perform_login(request, membership.user, email_verification="none")
        request.session[SESSION_ORG_KEY] = membership.organization_id
        messages.success(
            request, f"Welcome to {membership.organization.name}: you are {membership.get_role_display()}."
        )
        return redirect("developer:home")
    return render(request, "developer/invitation_accept.html", context)

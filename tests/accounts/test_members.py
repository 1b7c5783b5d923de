"""Members (issue 17 point 9): invitations (create, resend, withdraw, accept as a new or an existing user),
role changes and removals; owners and admins only, the owner role by owners only, never without an owner;
every change audited and e-mailed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import AuditEntry, Invitation, Membership, Role
from accounts.services import invitation_create, membership_set, user_get_or_create

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
MEMBERS = "/settings/developer/members/"
LINK_RE = re.compile(r"http://\S+/invitations/(\S+)/")


def signed_in(email: str) -> Client:
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def link_in(message: Any) -> str:
    match = LINK_RE.search(message.body)
    assert match, message.body
    return match.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_owner_invites_new_user_who_sets_a_password_and_joins(
    org: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in("owner@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{MEMBERS}invite/", {"email": "New.Person@Example.com", "role": "admin"})
    assert response.status_code == 302 and response["Location"] == MEMBERS
    invitation = Invitation.objects.get(organization=org)
    assert invitation.email == "new.person@example.com" and invitation.role == Role.ADMIN
    assert [m.to for m in mail.outbox] == [["new.person@example.com"]]
    assert "as Admin" in mail.outbox[0].body
    page = client.get(MEMBERS).content.decode()
    assert "new.person@example.com" in page and "Pending invitations" in page

    link = link_in(mail.outbox[0])
    guest = Client()
    assert "Choose a password" in guest.get(link).content.decode()
    short = guest.post(link, {"password": "short"})
    assert short.status_code == 400 and "at least 10 characters" in short.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        joined = guest.post(link, {"password": "a-long-enough-password"})
    assert joined.status_code == 302
    user = get_user_model().objects.get(email="new.person@example.com")
    assert user.check_password("a-long-enough-password")
    assert Membership.objects.get(organization=org, user=user).role == Role.ADMIN
    assert guest.get("/settings/developer/keys/").status_code == 200  # signed in, in the organisation
    assert mail.outbox[-1].to == ["owner@acme.test"] and "joined" in mail.outbox[-1].subject
    # The link is single-use.
    assert guest.get(link).status_code == 410
    actions = list(AuditEntry.objects.filter(organization=org).values_list("action", flat=True))
    assert "invitation.created" in actions and "membership.added" in actions


def test_existing_user_signs_in_to_accept_and_the_address_must_match(org: Any, owner: Any) -> None:
    user_get_or_create(email="known@acme.test", password=PASSWORD)
    user_get_or_create(email="someone.else@acme.test", password=PASSWORD)
    invitation = invitation_create(organization=org, email="known@acme.test", role="viewer", actor=owner)
    from accounts.services import invitation_token

    link = f"/invitations/{invitation_token(invitation)}/"
    assert "Sign in to accept" in Client().get(link).content.decode()
    wrong = signed_in("someone.else@acme.test").post(link)
    assert wrong.status_code == 400 and "This invitation is for known@acme.test" in wrong.content.decode()
    assert signed_in("known@acme.test").post(link).status_code == 302
    assert Membership.objects.get(organization=org, user__email="known@acme.test").role == Role.VIEWER


def test_resend_replaces_the_link_and_withdraw_kills_it(
    org: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = signed_in("owner@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{MEMBERS}invite/", {"email": "x@example.com", "role": "viewer"})
    first = link_in(mail.outbox[0])
    invitation = Invitation.objects.get(organization=org)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{MEMBERS}invitations/{invitation.public_id}/resend/")
    second = link_in(mail.outbox[1])
    assert first != second
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200
    # Inviting the same address again is refused with a sentence naming the way out.
    again = client.post(f"{MEMBERS}invite/", {"email": "x@example.com", "role": "viewer"})
    assert again.status_code == 400 and "resend that invitation instead" in again.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{MEMBERS}invitations/{invitation.public_id}/revoke/")
    assert "withdrawn" in Client().get(second).content.decode()
    assert mail.outbox[-1].to == ["x@example.com"] and "withdrawn" in mail.outbox[-1].subject
    assert set(AuditEntry.objects.filter(organization=org).values_list("action", flat=True)) >= {
        "invitation.created",
        "invitation.resent",
        "invitation.revoked",
    }


def test_bad_input_is_a_400_naming_each_field(org: Any, owner: Any) -> None:
    response = signed_in("owner@acme.test").post(f"{MEMBERS}invite/", {"email": "not-an-address", "role": "king"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter the e-mail address" in body and "Choose owner, admin or viewer." in body
    assert not Invitation.objects.exists()


def test_remove_member_last_owner_and_admin_limits(
    org: Any, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = user_get_or_create(email="admin@acme.test", password=PASSWORD)
    admin_membership = membership_set(organization=org, user=admin, role=Role.ADMIN)
    viewer = user_get_or_create(email="viewer@acme.test", password=PASSWORD)
    viewer_membership = membership_set(organization=org, user=viewer, role=Role.VIEWER)
    own = Membership.objects.get(organization=org, user=owner)

    admin_client = signed_in("admin@acme.test")
    # Admins manage members, but not the owner role.
    assert admin_client.post(f"{MEMBERS}{own.pk}/remove/").status_code == 403
    assert admin_client.post(f"{MEMBERS}{viewer_membership.pk}/role/", {"role": "owner"}).status_code == 403
    assert admin_client.post(f"{MEMBERS}invite/", {"email": "o@example.com", "role": "owner"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"{MEMBERS}{viewer_membership.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=viewer_membership.pk).exists()
    assert mail.outbox[-1].to == ["viewer@acme.test"] and "removed" in mail.outbox[-1].subject
    entry = AuditEntry.objects.get(organization=org, action="membership.removed")
    assert entry.actor_user == admin and entry.metadata == {"member": "viewer@acme.test", "role": "viewer"}

    # The last owner can neither be removed nor demoted.
    owner_client = signed_in("owner@acme.test")
    owner_client.post(f"{MEMBERS}{own.pk}/remove/")
    owner_client.post(f"{MEMBERS}{own.pk}/role/", {"role": "admin"})
    own.refresh_from_db()
    assert own.role == Role.OWNER
    page = owner_client.get(MEMBERS).content.decode()
    assert "The last owner cannot be removed" in page or "another owner first" in page

    # Role change is e-mailed to the member.
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"{MEMBERS}{admin_membership.pk}/role/", {"role": "viewer"})
    assert mail.outbox[-1].to == ["admin@acme.test"] and "Viewer" in mail.outbox[-1].subject


def test_viewers_see_a_view_only_notice_and_cannot_change_anything(org: Any, owner: Any, viewer: Any) -> None:
    client = signed_in("viewer@acme.test")
    page = client.get(MEMBERS).content.decode()
    assert "view-only access" in page and "Send invitation" not in page and "owner@acme.test" in page
    assert client.post(f"{MEMBERS}invite/", {"email": "a@example.com", "role": "viewer"}).status_code == 403
    own = Membership.objects.get(organization=org, user=owner)
    assert client.post(f"{MEMBERS}{own.pk}/remove/").status_code == 403
    assert not Invitation.objects.exists()


def test_another_organisations_invitation_and_member_are_404(org: Any, other_org: Any, owner: Any) -> None:
    stranger = user_get_or_create(email="stranger@other.test", password=PASSWORD)
    membership = membership_set(organization=other_org, user=stranger, role=Role.OWNER)
    invitation = invitation_create(organization=other_org, email="y@example.com", role="viewer", actor=None)
    client = signed_in("owner@acme.test")
    assert client.post(f"{MEMBERS}{membership.pk}/remove/").status_code == 404
    assert client.post(f"{MEMBERS}invitations/{invitation.public_id}/revoke/").status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()

"""Members page in real Chromium (issue 17 point 9): invite, the e-mailed link accepted by a new user who
sets a password, change a role, remove with a confirmation naming the consequence, the last owner kept,
viewers read-only; screenshots at 1280 and 390 px."""

from __future__ import annotations

import re
from typing import Any

from django.core import mail

from accounts.models import Invitation, Membership, Role

from .conftest import screenshot

PASSWORD = "correct-horse-battery"
LINK_RE = re.compile(r"http://\S+?(/invitations/\S+/)")


def test_owner_invites_a_new_member_who_joins_then_changes_their_role_and_removes_them(
    browser: Any, page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, settings: Any
) -> None:
    login_as(page, live_server.url, "owner@acme.test", PASSWORD)
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Members").click()
    page.get_by_role("heading", name="Members", exact=True).wait_for()

    form = page.get_by_role("form", name="Invite someone")
    form.get_by_label("E-mail").fill("nope")
    form.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Enter the e-mail address of the person to invite").wait_for()
    form.get_by_label("E-mail").fill("dana@example.com")
    form.get_by_label("Role").select_option("admin")
    form.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to dana@example.com as Admin.").wait_for()
    page.locator("tr[data-invitation='dana@example.com']").wait_for()
    screenshot(page, "members-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "members-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    match = LINK_RE.search(str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    context = browser.new_context(viewport={"width": 390, "height": 844})
    guest = context.new_page()
    try:
        guest.goto(f"{live_server.url}{match.group(1)}")
        guest.get_by_role("heading", name="Join Acme Dental").wait_for()
        guest.get_by_label("Choose a password").fill("dana-long-password")
        screenshot(guest, "invitation-accept-390")
        guest.get_by_role("button", name="Create account and join").click()
        guest.get_by_text("Welcome to Acme Dental: you are Admin.").wait_for()
    finally:
        context.close()
    dana = Membership.objects.get(organization=org, user__email="dana@example.com")
    assert dana.role == Role.ADMIN
    assert Invitation.objects.get(email="dana@example.com").accepted_at is not None

    page.reload()
    row = page.locator("tr[data-member='dana@example.com']")
    row.get_by_label("Role of dana@example.com").select_option("viewer")
    row.get_by_role("button", name="Change role").click()
    page.get_by_text("dana@example.com is now Viewer.").wait_for()

    # Remove: the browser asks first, naming the consequence; dismissing keeps the member.
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.locator("tr[data-member='dana@example.com']").get_by_role("button", name="Remove dana@example.com").click()
    page.wait_for_timeout(300)
    assert questions and "lose access to Acme Dental at once" in questions[0]
    assert Membership.objects.filter(pk=dana.pk).exists()
    page.once("dialog", lambda d: d.accept())
    page.locator("tr[data-member='dana@example.com']").get_by_role("button", name="Remove dana@example.com").click()
    page.get_by_text("dana@example.com was removed from Acme Dental.").wait_for()
    assert not Membership.objects.filter(pk=dana.pk).exists()

    # The only owner has no role select and no remove button.
    own = page.locator("tr[data-member='owner@acme.test']")
    own.get_by_text("The only owner").wait_for()
    assert own.get_by_role("button").count() == 0


def test_viewer_sees_members_read_only(
    page: Any, live_server: Any, login_as: Any, org: Any, owner: Any, viewer: Any
) -> None:
    login_as(page, live_server.url, "viewer@acme.test", PASSWORD)
    page.goto(f"{live_server.url}/settings/developer/members/")
    page.get_by_test_id("view-only").wait_for()
    assert page.get_by_role("button", name="Send invitation").count() == 0
    assert page.get_by_role("button", name="Change role").count() == 0
    page.locator("tr[data-member='owner@acme.test']").wait_for()

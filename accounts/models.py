from __future__ import annotations

from django.conf import settings
from django.db import models

from core.ids import public_id_field
from core.modes import MODE_MAX_LENGTH, Mode


class Organization(models.Model):
    """A business on AI Phone 360: the tenant every row of the platform belongs to."""

    public_id = public_id_field("biz")
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="America/New_York")
    country = models.CharField(max_length=2, default="US", help_text="Default region for phone numbers.")
    created_at = models.DateTimeField(auto_now_add=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspension_reason = models.CharField(max_length=500, blank=True)
    require_two_factor = models.BooleanField(
        db_default=False,
        default=False,
        help_text="Members must set up an authenticator app (TOTP) before using the developer dashboard. "
        "Changed by an owner (accounts.services.organization_two_factor_set).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    # The dashboard's "Viewing test data" switch, remembered per person and organisation (as in Stripe).
    # db_default too: rows written by code (or historical migration states) that predate the column stay valid.
    viewing_mode = models.CharField(
        max_length=MODE_MAX_LENGTH, choices=Mode.choices, default=Mode.LIVE, db_default=Mode.LIVE
    )
    # When this person first saw the green "Access granted" banner: it is shown once, not on every page.
    access_granted_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} · {self.organization} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)


class AuditEntry(models.Model):
    """One management action, whoever did it and through whichever door (dashboard, API, admin, CLI)."""

    class ActorType(models.TextChoices):
        USER = "user", "User"
        API_KEY = "api_key", "API key"
        SYSTEM = "system", "System"

    public_id = public_id_field("aud")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_key_id = models.CharField(max_length=40, blank=True, help_text="Public id of the acting API key.")
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="audit_org_created")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_label}".strip()


class Invitation(models.Model):
    """An e-mailed invitation to join an organisation with a role (accounts.services.invitation_*).

    The link carries a signed token naming the invitation and its `nonce`; resending draws a new nonce, so
    only the latest link works, and a link older than INVITATION_MAX_AGE is refused."""

    public_id = public_id_field("inv")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_pending_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

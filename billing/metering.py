"""The one function that records metered usage. Idempotent on `reference`, so a retried task never counts twice."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import Organization

from .models import Metric, UsageRecord


def record_usage(*, organization: Organization, metric: str, quantity: int, mode: str, reference: str,
                 api_key_id: int | None = None) -> tuple[UsageRecord, bool]:
    """Record `quantity` units of `metric`; returns (record, created). A repeated reference is a no-op."""
    if metric not in Metric.values:
        raise ValueError(f"Unknown metric {metric!r}")
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    try:
        with transaction.atomic():
            record = UsageRecord.objects.create(
                organization=organization, api_key_id=api_key_id, metric=metric, quantity=quantity, mode=mode,
                reference=reference,
            )
    except IntegrityError:
        return UsageRecord.objects.get(reference=reference), False
    return record, True

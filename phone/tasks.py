from celery import shared_task

from developer.public_api.idempotency import idempotency_prune


@shared_task(name="phone.prune_idempotency_keys")
def prune_idempotency_keys() -> int:
    """Hourly: forget Idempotency-Keys past their 24-hour retention (every write of the public API takes one)."""
    return idempotency_prune()

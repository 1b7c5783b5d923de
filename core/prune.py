"""Retention by DELETE, in chunks: the prune every table without time partitions uses.

Each chunk is its own short transaction over at most `batch` rows picked by primary key, so a
backlog of millions never holds a long lock on the table, and a prune stopped half-way (a worker
recycled, a deploy) has kept what it did and resumes where it left off on the next run.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

PRUNE_BATCH = 1000


def delete_in_batches(rows: models.QuerySet[Any], *, batch: int = PRUNE_BATCH) -> int:
    """Delete every row of `rows`, `batch` primary keys at a time; returns how many went."""
    if batch <= 0:
        raise ValueError("batch must be positive")
    model = rows.model
    deleted = 0
    while ids := list(rows.order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            _, counts = model._base_manager.filter(pk__in=ids).delete()
        deleted += counts.get(model._meta.label, 0)
    return deleted

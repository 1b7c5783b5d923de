"""Usage reads billing's rollups and plans: the billing tests' clock, plan seeding and plan terms."""

from tests.billing.conftest import _plans, clock, set_plan_terms  # noqa: F401

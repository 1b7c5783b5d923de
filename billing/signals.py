"""Billing's one upward announcement: the apps above billing listen; billing imports none of them."""

from django.dispatch import Signal

# Sent after the commit that takes a wallet from empty (or negative) to funded, with
# `organization_id`. webhooks connects it (webhooks/apps.py) to release the deliveries it held
# while the wallet was empty. Receivers must not fail the credit: errors are logged, not raised.
wallet_funded = Signal()

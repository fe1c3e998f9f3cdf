"""Domain events of the marketplace core. Other apps (search, credit) subscribe; the
core imports none of them. Sent from `transaction.on_commit`, with ids only."""

from django.dispatch import Signal

# Sent with `listing_id` whenever anything a buyer can see of a listing changed.
listing_changed = Signal()

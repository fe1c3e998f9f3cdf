"""Domain events of the marketplace core. Other apps (search, credit) subscribe; the
core imports none of them. Sent from `transaction.on_commit`, with ids only."""

from django.dispatch import Signal

# Sent with `listing_id` whenever anything a buyer can see of a listing changed.
listing_changed = Signal()
# Sent with `listing_ids` (a list) when many listings changed at once, e.g. every listing of
# a seller whose credit tier changed: receivers handle them as one batch.
listings_changed = Signal()

# Orders, for the credit system. All sent after commit, with ids and plain values only.
# `order_id` completed: the buyer confirmed receipt (or the timer did) and was charged.
order_completed = Signal()
# `order_id`, `at_fault_party` ("buyer", "seller" or "" when nobody is at fault).
order_cancelled = Signal()
# `order_id`: the seller did not ship before the deadline (the order was cancelled).
shipment_late = Signal()
# `order_id`, `upheld` (bool), `against` ("seller" when upheld, "buyer" when rejected).
dispute_resolved = Signal()

# Sent after commit when an organiser records that an approved flea-market vendor did not
# come, with `user_id` (the vendor), `event_page_id` (the market's page) and
# `application_id`. The credit system counts it as evidence.
stall_no_show = Signal()

# Sent after commit when an erasure certificate is revoked, with `certificate_id` (str),
# `provider_id` (the erasure provider organisation) and `technician_id` (the user who
# issued it). The credit system counts it against the technician as erasure provider.
erasure_certificate_revoked = Signal()

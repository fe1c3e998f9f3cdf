"""Marketplace endpoints of the JSON API. Authentication: allauth's browser session or
its headless app token in the X-Session-Token header.

This package only assembles the routers of its modules (accounts, listings, orders);
what they share lives in `common`, so no module imports the package back. The credit
sub-app keeps its endpoints in marketplace.credit.api, as grading, wipe_cert and search
keep theirs."""

from __future__ import annotations

from ninja import Router

from marketplace.api.accounts import router as accounts_router
from marketplace.api.listings import router as listings_router
from marketplace.api.orders import router as orders_router

router = Router()
router.add_router("", accounts_router)
router.add_router("", listings_router)
router.add_router("", orders_router)

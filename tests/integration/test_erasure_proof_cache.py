"""The transparency log's inclusion proofs are kept per tree (size and root): building a
certificate's bundle — the verification page, its JSON, the PDF — then reads no log leaves,
whose number grows with every certificate, and the proofs still verify."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.integration import test_erasure
from tests.integration.test_erasure import fresh_log, import_and_sign, laptop_listing, make_technician
from wipe_cert.services import certificate_anchors, certificate_bundle
from wipe_cert.signing import verify_bundle

provider = test_erasure.provider  # the fixture: a verified provider with a platform-held key
pytestmark = pytest.mark.django_db


def leaf_reads(queries: CaptureQueriesContext) -> list[str]:
    """Reads of the log's first n entries (the leaves of a tree)."""
    return [q["sql"] for q in queries.captured_queries if '"wipe_cert_logentry"."index" < ' in q["sql"]]


def test_a_bundle_reads_the_log_leaves_once_per_tree_and_its_proofs_verify(provider):
    cache.clear()
    technician = make_technician(provider)
    certificate = import_and_sign(provider, technician, laptop_listing(), data=fresh_log())
    for _ in range(3):  # more certificates after it: a longer log
        import_and_sign(provider, technician, None, data=fresh_log())

    with CaptureQueriesContext(connection) as first:
        bundle = certificate_bundle(certificate)
    with CaptureQueriesContext(connection) as second:
        again = certificate_bundle(certificate)

    assert leaf_reads(first) and not leaf_reads(second)
    assert again["log"] == bundle["log"]
    assert verify_bundle(again, certificate_anchors(certificate)).valid

    cache.clear()  # a cache that lost its entries computes the same proofs again
    with CaptureQueriesContext(connection) as cold:
        assert certificate_bundle(certificate)["log"] == bundle["log"]
    assert leaf_reads(cold)

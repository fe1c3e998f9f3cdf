"""An order snapshot provider used only by tests (settings.MARKETPLACE_ORDER_SNAPSHOT_PROVIDERS)."""


def fake_grade_and_certificate(listing):
    return {"grade": {"grade": "very_good", "label": "Very Good"}, "certificate": {"id": "cert-1", "status": "valid"}}

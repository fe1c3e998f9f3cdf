"""A gate used only by tests to show how waiting stages work."""

from marketplace.gates import PublicationGate


class AwaitingAppraisalGate(PublicationGate):
    name = "test_awaiting_appraisal"
    stage = "pending_appraisal"

    def check(self, listings):
        return {listing.pk: [self.reason("not_graded", "Not graded yet.")] for listing in listings}

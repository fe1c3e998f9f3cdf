from marketplace.errors import Conflict, DomainError, ErrorCode, MFARequired, NotFound, PermissionDenied


def test_each_domain_error_maps_to_a_stable_code_and_status():
    cases = [
        (NotFound("x"), ErrorCode.NOT_FOUND, 404),
        (PermissionDenied("x"), ErrorCode.PERMISSION_DENIED, 403),
        (MFARequired("x"), ErrorCode.MFA_REQUIRED, 403),
        (Conflict("x"), ErrorCode.CONFLICT, 409),
    ]
    for error, code, status in cases:
        assert error.code == code
        assert error.http_status == status


def test_a_specific_code_and_details_can_be_given():
    error = DomainError("Blocked", code="publication_blocked", details={"blocking": []})
    assert (error.code, error.message, error.details) == ("publication_blocked", "Blocked", {"blocking": []})

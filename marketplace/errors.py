"""The marketplace's domain errors. Each carries a stable machine-readable code and a
message a user may see; they become HTTP responses in one place (config.api and the
form views)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "validation_error"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    MFA_REQUIRED = "mfa_required"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    CSRF_FAILED = "csrf_failed"
    BAD_REQUEST = "bad_request"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


class DomainError(Exception):
    """An error whose message is meant for the user."""

    code: str = ErrorCode.VALIDATION_ERROR
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class ValidationFailed(DomainError):
    code: str = ErrorCode.VALIDATION_ERROR
    http_status = 422


class NotFound(DomainError):
    code: str = ErrorCode.NOT_FOUND
    http_status = 404


class PermissionDenied(DomainError):
    code: str = ErrorCode.PERMISSION_DENIED
    http_status = 403


class MFARequired(PermissionDenied):
    code: str = ErrorCode.MFA_REQUIRED


class Conflict(DomainError):
    code: str = ErrorCode.CONFLICT
    http_status = 409

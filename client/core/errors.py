"""Errors the core raises; the HTTP layer maps each to a status code and error body."""

from __future__ import annotations


class GatewayError(Exception):
    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, *, detail: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.field = field
        self.retry_after_s: int | None = None


class InvalidInput(GatewayError):
    status = 400
    code = "INVALID_INPUT"


class ValidationFailed(GatewayError):
    status = 422
    code = "VALIDATION_ERROR"


class PayloadTooLarge(GatewayError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class Overloaded(GatewayError):
    status = 429
    code = "OVERLOADED"

    def __init__(self, message: str, *, retry_after_s: int = 1, **kwargs: str | None):
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class ModelUnavailable(GatewayError):
    status = 503
    code = "MODEL_UNAVAILABLE"

    def __init__(self, message: str, *, retry_after_s: int = 5, **kwargs: str | None):
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class VersionUnavailable(ModelUnavailable):
    """The model server answered, but does not serve the requested model version (now): it
    is being unloaded, or was never loaded there. The server itself is fine."""


class DeadlineExceeded(GatewayError):
    status = 504
    code = "DEADLINE_EXCEEDED"


class UpstreamError(GatewayError):
    """Triton answered with an error that is not the caller's fault."""

    status = 502
    code = "UPSTREAM_ERROR"

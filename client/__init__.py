"""A small typed client for google/gemini-omni-flash/reference-to-video, on fal or on falfake;
`FalClient.endpoint(endpoint_id)` calls any other fal endpoint, untyped."""

from falfake.client.aio import AsyncEndpoint, AsyncFalClient
from falfake.client.config import Hosts
from falfake.client.errors import (
    ApiError,
    AuthenticationError,
    ContentPolicyViolation,
    FalClientError,
    LocalFileError,
    MissingCredentials,
    RateLimited,
    RequestCancelled,
    ServerError,
    StartTimeout,
    SubscribeTimeout,
    TransportError,
    UnexpectedResponse,
    ValidationError,
)
from falfake.client.models import Completed, InProgress, LogEntry, Queued, Status, Submitted
from falfake.client.retry import RetryPolicy
from falfake.client.sync import Endpoint, FalClient
from falfake.client.webhooks import JwksCache, WebhookVerificationError, verify_webhook
from falfake.contracts import AspectRatioEnum, File, ReferenceToVideoInput, ReferenceToVideoOutput

__all__ = [
    "ApiError",
    "AspectRatioEnum",
    "AsyncEndpoint",
    "AsyncFalClient",
    "AuthenticationError",
    "Completed",
    "ContentPolicyViolation",
    "Endpoint",
    "FalClient",
    "FalClientError",
    "File",
    "Hosts",
    "InProgress",
    "JwksCache",
    "LocalFileError",
    "LogEntry",
    "MissingCredentials",
    "Queued",
    "RateLimited",
    "ReferenceToVideoInput",
    "ReferenceToVideoOutput",
    "RequestCancelled",
    "RetryPolicy",
    "ServerError",
    "StartTimeout",
    "Status",
    "Submitted",
    "SubscribeTimeout",
    "TransportError",
    "UnexpectedResponse",
    "ValidationError",
    "WebhookVerificationError",
    "verify_webhook",
]

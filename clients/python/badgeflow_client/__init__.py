"""badgeflow's Python SDK: typed sync and async clients, typed errors and `badgectl`.

>>> from badgeflow_client import BadgeflowClient, event_from_dict
>>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
...     results = client.publish_events([event_from_dict({"id": "e1", "type": "course_passed",
...                                                       "learner": {"id": "L1"}})])

For asyncio, `AsyncBadgeflowClient` has the same methods as coroutines. To send many
events one at a time, `client.publisher()` batches them for you (`EventPublisher`).
"""

from badgeflow_client.aio import AsyncAwardWatch, AsyncBadgeflowClient
from badgeflow_client.client import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAGE_SIZE,
    DEFAULT_RPC_TIMEOUT,
    AwardWatch,
    BadgeflowClient,
)
from badgeflow_client.errors import (
    AlreadyExists,
    BadgeflowError,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    UnknownError,
    from_aio_call,
    from_rpc_error,
)
from badgeflow_client.events import event_from_dict, payload_json
from badgeflow_client.pagers import AsyncPager, Pager
from badgeflow_client.publisher import (
    DEFAULT_LINGER_MS,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_RETRIES,
    AsyncEventPublisher,
    EventPublisher,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_LINGER_MS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RPC_TIMEOUT",
    "AlreadyExists",
    "AsyncAwardWatch",
    "AsyncBadgeflowClient",
    "AsyncEventPublisher",
    "AsyncPager",
    "AwardWatch",
    "BadgeflowClient",
    "BadgeflowError",
    "Cancelled",
    "DeadlineExceeded",
    "EventPublisher",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "Pager",
    "PermissionDenied",
    "PreconditionViolation",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "UnknownError",
    "event_from_dict",
    "from_aio_call",
    "from_rpc_error",
    "payload_json",
]

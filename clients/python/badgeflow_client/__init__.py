"""badgeflow's Python SDK: a typed client, typed errors and the `badgectl` command line.

>>> from badgeflow_client import BadgeflowClient, event_from_dict
>>> with BadgeflowClient("127.0.0.1:50151") as client:  # doctest: +SKIP
...     results = client.publish_events([event_from_dict({"id": "e1", "type": "course_passed",
...                                                       "learner": {"id": "L1"}})])
"""

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
    UnknownError,
    from_rpc_error,
)
from badgeflow_client.events import event_from_dict

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RPC_TIMEOUT",
    "AlreadyExists",
    "AwardWatch",
    "BadgeflowClient",
    "BadgeflowError",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "PreconditionViolation",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "UnknownError",
    "event_from_dict",
    "from_rpc_error",
]

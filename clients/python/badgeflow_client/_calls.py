"""One place building each request, shared by `BadgeflowClient` and `AsyncBadgeflowClient`.

Each function here turns a client method's arguments into a `Unary` (which stub method
to call with which request, and what to return from the response), a `Paged` list call
or a `ServerStream`. The two clients only run them: the sync one blocking, the async
one awaiting. So a request is built once, and both clients send the same thing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import grpc
from badgeflow.v1 import (
    api_key_pb2,
    award_service_pb2,
    award_service_pb2_grpc,
    common_pb2,
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    key_service_pb2,
    key_service_pb2_grpc,
    progress_pb2,
    progress_service_pb2,
    progress_service_pb2_grpc,
    provider_pb2,
    provider_service_pb2,
    provider_service_pb2_grpc,
    rule_service_pb2,
    rule_service_pb2_grpc,
    rules_pb2,
    template_pb2,
    template_service_pb2,
    template_service_pb2_grpc,
)
from google.protobuf.message import Message

from badgeflow_client.errors import BadgeflowError

_Result = TypeVar("_Result")
_Item = TypeVar("_Item")

MAX_BATCH_SIZE = 1000
"""Events per StreamEventsRequest the server accepts at most."""


@dataclass(frozen=True)
class Stubs:
    """The generated stubs of every service, over one channel (sync or `grpc.aio`)."""

    events: event_service_pb2_grpc.EventServiceStub
    rules: rule_service_pb2_grpc.RuleServiceStub
    templates: template_service_pb2_grpc.TemplateServiceStub
    progress: progress_service_pb2_grpc.ProgressServiceStub
    providers: provider_service_pb2_grpc.ProviderServiceStub
    awards: award_service_pb2_grpc.AwardServiceStub
    keys: key_service_pb2_grpc.KeyServiceStub

    @classmethod
    def over(cls, channel: grpc.Channel | grpc.aio.Channel) -> Stubs:
        return cls(
            event_service_pb2_grpc.EventServiceStub(channel),
            rule_service_pb2_grpc.RuleServiceStub(channel),
            template_service_pb2_grpc.TemplateServiceStub(channel),
            progress_service_pb2_grpc.ProgressServiceStub(channel),
            provider_service_pb2_grpc.ProviderServiceStub(channel),
            award_service_pb2_grpc.AwardServiceStub(channel),
            key_service_pb2_grpc.KeyServiceStub(channel),
        )


def _same(response: Any) -> Any:
    return response


@dataclass(frozen=True)
class Unary(Generic[_Result]):
    """A unary call to make: `method(stubs)(request)`, then `unwrap(response)`."""

    method: Callable[[Stubs], Callable[..., Any]]
    request: Message
    unwrap: Callable[[Any], _Result] = _same


@dataclass(frozen=True)
class Paged(Generic[_Item]):
    """A paged list call: `page(token)` is the unary call for one page."""

    page: Callable[[str], Unary[Any]]
    items_of: Callable[[Any], Sequence[_Item]]


@dataclass(frozen=True)
class ServerStream(Generic[_Result]):
    """A server-streaming call: `method(stubs)(request)` yields `_Result`s."""

    method: Callable[[Stubs], Callable[..., Any]]
    request: Message


def check_page_size(page_size: int) -> None:
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, not {page_size}")


def _rule_files(files: Mapping[str, str]) -> list[rules_pb2.RuleFile]:
    return [rules_pb2.RuleFile(name=name, content=content) for name, content in files.items()]


# -- events ---------------------------------------------------------------------------


def publish_events(events: Iterable[event_pb2.Event]) -> Unary[list[event_pb2.EventResult]]:
    request = event_service_pb2.PublishEventsRequest(events=list(events))
    return Unary(lambda s: s.events.PublishEvents, request, lambda r: list(r.results))


def check_batch_size(batch_size: int) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, not {batch_size}")


def stream_request(
    sequence: int, batch: list[event_pb2.Event]
) -> event_service_pb2.StreamEventsRequest:
    """Batch number `sequence` (from 1) of a StreamEvents call."""
    return event_service_pb2.StreamEventsRequest(sequence=sequence, events=batch)


def stream_requests(
    events: Iterable[event_pb2.Event], batch_size: int
) -> Iterator[event_service_pb2.StreamEventsRequest]:
    """Batches of `batch_size` events, numbered from 1, read lazily from `events`."""
    iterator = iter(events)
    for sequence in itertools.count(1):
        batch = list(itertools.islice(iterator, batch_size))
        if not batch:
            return
        yield stream_request(sequence, batch)


def acknowledged(
    expected: int, response: event_service_pb2.StreamEventsResponse
) -> Sequence[event_pb2.EventResult]:
    """The results of batch `expected`; an error if the server answered another batch."""
    if response.sequence != expected:
        raise BadgeflowError(
            f"acknowledgement out of order: got batch {response.sequence}, expected {expected}",
            code=grpc.StatusCode.INTERNAL,
        )
    return response.results


# -- rules ------------------------------------------------------------------------------


def validate_rules(files: Mapping[str, str]) -> Unary[rule_service_pb2.ValidateRulesResponse]:
    request = rule_service_pb2.ValidateRulesRequest(files=_rule_files(files))
    return Unary(lambda s: s.rules.ValidateRules, request)


def plan_rules(files: Mapping[str, str]) -> Unary[rule_service_pb2.PlanRulesResponse]:
    request = rule_service_pb2.PlanRulesRequest(files=_rule_files(files))
    return Unary(lambda s: s.rules.PlanRules, request)


def apply_rules(
    files: Mapping[str, str], expected_version: int
) -> Unary[rule_service_pb2.ApplyRulesResponse]:
    request = rule_service_pb2.ApplyRulesRequest(
        files=_rule_files(files), expected_version=expected_version
    )
    return Unary(lambda s: s.rules.ApplyRules, request)


def get_rules() -> Unary[rule_service_pb2.GetRulesResponse]:
    return Unary(lambda s: s.rules.GetRules, rule_service_pb2.GetRulesRequest())


def backfill_rules(
    template_ids: Sequence[str], dry_run: bool
) -> ServerStream[rule_service_pb2.BackfillRulesResponse]:
    if isinstance(template_ids, str):
        raise TypeError("template_ids is a sequence of template ids, not one string")
    request = rule_service_pb2.BackfillRulesRequest(
        template_ids=list(template_ids), dry_run=dry_run
    )
    return ServerStream(lambda s: s.rules.BackfillRules, request)


# -- templates --------------------------------------------------------------------------


def list_templates(active_only: bool, page_size: int) -> Paged[template_pb2.Template]:
    def page(token: str) -> Unary[template_service_pb2.ListTemplatesResponse]:
        request = template_service_pb2.ListTemplatesRequest(
            page=common_pb2.PageRequest(page_size=page_size, page_token=token),
            active_only=active_only,
        )
        return Unary(lambda s: s.templates.ListTemplates, request)

    check_page_size(page_size)  # fails at the call, not at the first iteration
    return Paged(page, lambda response: response.templates)


def get_template(template_id: str) -> Unary[template_pb2.Template]:
    request = template_service_pb2.GetTemplateRequest(template_id=template_id)
    return Unary(lambda s: s.templates.GetTemplate, request, lambda r: r.template)


def activate_template(template_id: str) -> Unary[template_pb2.Template]:
    request = template_service_pb2.ActivateTemplateRequest(template_id=template_id)
    return Unary(lambda s: s.templates.ActivateTemplate, request, lambda r: r.template)


def deactivate_template(template_id: str) -> Unary[template_pb2.Template]:
    request = template_service_pb2.DeactivateTemplateRequest(template_id=template_id)
    return Unary(lambda s: s.templates.DeactivateTemplate, request, lambda r: r.template)


# -- providers and issuance -------------------------------------------------------------


def connect_provider(
    kind: str, organization_id: str, token: str, environment: str, base_url: str
) -> Unary[provider_service_pb2.ConnectProviderResponse]:
    request = provider_service_pb2.ConnectProviderRequest(
        kind=kind,
        organization_id=organization_id,
        token=token,
        environment=environment,
        base_url=base_url,
    )
    return Unary(lambda s: s.providers.ConnectProvider, request)


def list_providers() -> Unary[list[provider_pb2.ProviderConnection]]:
    request = provider_service_pb2.ListProvidersRequest()
    return Unary(lambda s: s.providers.ListProviders, request, lambda r: list(r.connections))


def disconnect_provider(connection_id: str) -> Unary[provider_pb2.ProviderConnection]:
    request = provider_service_pb2.DisconnectProviderRequest(connection_id=connection_id)
    return Unary(lambda s: s.providers.DisconnectProvider, request, lambda r: r.connection)


def sync_templates(connection_id: str) -> Unary[provider_service_pb2.SyncTemplatesResponse]:
    request = provider_service_pb2.SyncTemplatesRequest(connection_id=connection_id)
    return Unary(lambda s: s.providers.SyncTemplates, request)


def list_issuances(state: int, limit: int) -> Unary[list[provider_pb2.Issuance]]:
    request = provider_service_pb2.ListIssuancesRequest(
        state=state,  # type: ignore[arg-type]  # an IssuanceState value
        limit=limit,
    )
    return Unary(lambda s: s.providers.ListIssuances, request, lambda r: list(r.issuances))


def retry_issuance(issuance_id: int) -> Unary[provider_pb2.Issuance]:
    request = provider_service_pb2.RetryIssuanceRequest(issuance_id=issuance_id)
    return Unary(lambda s: s.providers.RetryIssuance, request, lambda r: r.issuance)


def provider_badges(learner_id: str, template_id: str) -> Unary[list[provider_pb2.ProviderBadge]]:
    request = provider_service_pb2.ListProviderBadgesRequest(
        learner_id=learner_id, template_id=template_id
    )
    return Unary(lambda s: s.providers.ListProviderBadges, request, lambda r: list(r.badges))


# -- awards -----------------------------------------------------------------------------


def revoke_award(award_id: str, reason: str) -> Unary[progress_pb2.Award]:
    request = award_service_pb2.RevokeAwardRequest(award_id=award_id, reason=reason)
    return Unary(lambda s: s.awards.RevokeAward, request, lambda r: r.award)


def learner(learner_id: str, email: str, first_name: str, last_name: str) -> event_pb2.Learner:
    return event_pb2.Learner(id=learner_id, email=email, first_name=first_name, last_name=last_name)


def grant_award(
    template_id: str, learner: event_pb2.Learner, reason: str
) -> Unary[progress_pb2.Award]:
    request = award_service_pb2.GrantAwardRequest(
        template_id=template_id, learner_id=learner.id, reason=reason, learner=learner
    )
    return Unary(lambda s: s.awards.GrantAward, request, lambda r: r.award)


def reissue_award(award_id: str) -> Unary[award_service_pb2.ReissueAwardResponse]:
    request = award_service_pb2.ReissueAwardRequest(award_id=award_id)
    return Unary(lambda s: s.awards.ReissueAward, request)


# -- progress ---------------------------------------------------------------------------


def learner_progress(learner_id: str) -> Unary[progress_service_pb2.GetLearnerProgressResponse]:
    request = progress_service_pb2.GetLearnerProgressRequest(learner_id=learner_id)
    return Unary(lambda s: s.progress.GetLearnerProgress, request)


@dataclass(frozen=True)
class ProgressFilter:
    """Which records `template_progress` lists (see `ListTemplateProgressRequest`)."""

    completed_only: bool = False
    status: int = 0
    min_percent: float = 0.0
    updated_after: datetime | None = None


def template_progress(
    template_id: str, where: ProgressFilter, page_size: int
) -> Paged[progress_pb2.TemplateProgress]:
    if where.updated_after is not None and where.updated_after.tzinfo is None:
        raise ValueError("updated_after must be timezone-aware (e.g. datetime.now(UTC))")

    def page(token: str) -> Unary[progress_service_pb2.ListTemplateProgressResponse]:
        request = progress_service_pb2.ListTemplateProgressRequest(
            template_id=template_id,
            page=common_pb2.PageRequest(page_size=page_size, page_token=token),
            completed_only=where.completed_only,
            status=where.status,  # type: ignore[arg-type]  # a ProgressStatus value
            min_percent=where.min_percent,
        )
        if where.updated_after is not None:
            request.updated_after.FromDatetime(where.updated_after)
        return Unary(lambda s: s.progress.ListTemplateProgress, request)

    check_page_size(page_size)
    return Paged(page, lambda response: response.records)


def learner_badges(learner_id: str) -> Unary[progress_service_pb2.GetLearnerBadgesResponse]:
    request = progress_service_pb2.GetLearnerBadgesRequest(learner_id=learner_id)
    return Unary(lambda s: s.progress.GetLearnerBadges, request)


def learner_awards(
    learner_id: str, exclude_revoked: bool
) -> Unary[progress_service_pb2.ListLearnerAwardsResponse]:
    request = progress_service_pb2.ListLearnerAwardsRequest(
        learner_id=learner_id, exclude_revoked=exclude_revoked
    )
    return Unary(lambda s: s.progress.ListLearnerAwards, request)


def watch_awards(
    learner_id: str, template_id: str
) -> ServerStream[progress_service_pb2.WatchAwardsResponse]:
    request = progress_service_pb2.WatchAwardsRequest(
        learner_id=learner_id, template_id=template_id
    )
    return ServerStream(lambda s: s.progress.WatchAwards, request)


# -- API keys ---------------------------------------------------------------------------

ROLES = {
    "publisher": api_key_pb2.ROLE_PUBLISHER,
    "reader": api_key_pb2.ROLE_READER,
    "admin": api_key_pb2.ROLE_ADMIN,
}
"""Role names the clients take, and their `badgeflow.v1.Role` values."""


def create_api_key(name: str, role: str) -> Unary[key_service_pb2.CreateApiKeyResponse]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    request = key_service_pb2.CreateApiKeyRequest(name=name, role=ROLES[role])
    return Unary(lambda s: s.keys.CreateApiKey, request)


def list_api_keys(include_revoked: bool) -> Unary[list[api_key_pb2.ApiKey]]:
    request = key_service_pb2.ListApiKeysRequest(include_revoked=include_revoked)
    return Unary(lambda s: s.keys.ListApiKeys, request, lambda r: list(r.api_keys))


def revoke_api_key(key_id: str) -> Unary[api_key_pb2.ApiKey]:
    request = key_service_pb2.RevokeApiKeyRequest(key_id=key_id)
    return Unary(lambda s: s.keys.RevokeApiKey, request, lambda r: r.api_key)

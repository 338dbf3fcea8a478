"""Alerts and webhooks: the feed of events that need a person now, and where to push it.

Every role reads and clears the alerts of its own scope. Webhook subscriptions are managed by an
admin (any scope) or a bureau (its district): each receives the alerts its scope sees, signed
with HMAC-SHA256 (see docs/api.md).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import ConnDep, PrincipalDep, ScopeDep, WriterDep
from api.problems import responses
from queries import alerts as q

router = APIRouter(prefix="/v1", tags=["alerts"])

Kind = Literal["entrapment", "stopped", "replace_or_overhaul", "silent", "rejection_rate"]
AlertId = Annotated[int, Path(ge=1, le=2**62)]
WebhookId = Annotated[int, Path(ge=1, le=2**62)]


class Alert(BaseModel):
    """An alert: its kind, the unit (or, for a rejection rate, the contractor), where, since when."""

    alert_id: int
    kind: Kind
    unit_id: str | None = Field(description="Null for a contractor's rejection rate.")
    contractor_id: str
    contractor_name: str
    building_id: str | None
    building_name: str | None
    community_name: str | None
    street_office_id: str | None
    district_id: str | None
    occurred_at: datetime = Field(description="When the condition began (event time).")
    opened_at: datetime
    last_seen_at: datetime = Field(description="When it last repeated while open.")
    occurrences: int = Field(description="How often it happened while this alert was open.")
    detail: dict[str, Any]
    cleared_at: datetime | None
    cleared_by: str | None = Field(description="'condition', or the token that cleared it.")


class AlertList(BaseModel):
    """Alerts, open ones first, newest first within each."""

    items: list[Alert]


class WebhookCreate(BaseModel):
    """A URL to receive the alerts of the caller's scope."""

    url: str = Field(pattern=r"^https?://", max_length=2000, examples=["https://ops.example/hook"])
    kinds: list[Kind] = Field(default_factory=list, description="Only these kinds; empty = all.")


class Webhook(BaseModel):
    """A webhook subscription."""

    webhook_id: int
    url: str
    role: str
    bound_to: str | None
    kinds: list[str]
    created_by: str
    created_at: datetime
    disabled_at: datetime | None


class WebhookCreated(Webhook):
    """The new subscription and its signing secret, shown this once."""

    secret: str


class Delivery(BaseModel):
    """One alert change queued for a webhook, with its last attempt."""

    delivery_id: int
    webhook_id: int
    alert_id: int
    change: Literal["opened", "cleared"]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    gave_up_at: datetime | None
    last_status_code: int | None
    last_error: str | None


@router.get(
    "/alerts",
    response_model=AlertList,
    summary="Alerts in your scope (open ones unless asked otherwise)",
    responses=responses(401, 422),
)
def list_alerts(
    conn: ConnDep,
    scope: ScopeDep,
    open_only: Annotated[bool, Query(description="Only alerts not yet cleared.")] = True,
    kind: Annotated[Kind | None, Query()] = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Entrapments, units newly stopped or flagged, units gone silent, rejection-rate jumps."""
    items = q.alerts(
        conn=conn, scope=scope, open_only=open_only, limit=limit, kind=kind, unit_id=unit_id
    )
    return {"items": items}


@router.get(
    "/alerts/{alert_id}",
    response_model=Alert,
    summary="Get one alert",
    responses=responses(401, 404, 422),
)
def get_alert(conn: ConnDep, scope: ScopeDep, alert_id: AlertId) -> Any:
    """404 when it does not exist or is not the caller's to see."""
    return q.alert(conn=conn, scope=scope, alert_id=alert_id)


@router.post(
    "/alerts/{alert_id}/clear",
    response_model=Alert,
    summary="Clear an alert someone has dealt with",
    responses=responses(401, 404, 422),
)
def clear_alert(conn: ConnDep, principal: PrincipalDep, alert_id: AlertId) -> Any:
    """Clearing twice is harmless; the alert records who cleared it."""
    return q.clear(
        conn=conn, scope=principal.scope, alert_id=alert_id, by=f"token:{principal.token_id}"
    )


@router.get(
    "/webhooks",
    response_model=list[Webhook],
    summary="Webhook subscriptions of your scope (admin, bureau)",
    responses=responses(401, 403, 422),
)
def list_webhooks(
    conn: ConnDep,
    principal: WriterDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """An admin sees every subscription, a bureau those of its district; oldest first."""
    return q.webhooks(conn=conn, scope=principal.scope, limit=limit)


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    summary="Subscribe a URL to your scope's alerts (admin, bureau)",
    responses=responses(401, 403, 422),
)
def create_webhook(
    conn: ConnDep, principal: WriterDep, body: WebhookCreate, response: Response
) -> Any:
    """Returns the signing secret once; every delivery carries its HMAC-SHA256 signature."""
    created, secret = q.create_webhook(
        conn=conn,
        scope=principal.scope,
        url=body.url,
        kinds=list(body.kinds),
        created_by=f"token:{principal.token_id}",
    )
    response.headers["Location"] = f"/v1/webhooks/{created.webhook_id}"
    return {**asdict(created), "secret": secret}


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    summary="Stop a webhook (admin, bureau); its delivery log stays",
    responses=responses(401, 403, 404, 422),
)
def delete_webhook(conn: ConnDep, principal: WriterDep, webhook_id: WebhookId) -> Response:
    """404 when it does not exist, is already stopped, or is another scope's."""
    q.delete_webhook(conn=conn, scope=principal.scope, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=list[Delivery],
    summary="A webhook's delivery log (admin, bureau)",
    responses=responses(401, 403, 404, 422),
)
def list_deliveries(
    conn: ConnDep,
    principal: WriterDep,
    webhook_id: WebhookId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Newest first, each with its attempts so far and the last answer or error."""
    return q.deliveries(conn=conn, scope=principal.scope, webhook_id=webhook_id, limit=limit)

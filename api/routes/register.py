"""The fleet register: districts, street offices, communities, buildings, units, contractors.

Everyone reads what their scope holds; admins and bureaus create and change (a bureau only inside
its district). Each resource gets the same four routes, built from one table below.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel

from api.deps import ConnDep, PrincipalDep, ScopeDep, require
from api.models import register as m
from api.models.common import Page
from api.problems import Forbidden, responses
from api.tokens import Principal
from core.scope import Role
from queries import register as q

router = APIRouter(prefix="/v1", tags=["register"])

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[
    str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
]
Filter = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class Spec:
    path: str
    resource: str
    plural: str
    model: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]
    filters: tuple[str, ...]
    creators: tuple[Role, ...] = ("admin", "bureau")
    updaters: tuple[Role, ...] = ("admin", "bureau")


SPECS = (
    Spec(
        "districts",
        "district",
        "districts",
        m.District,
        m.DistrictCreate,
        m.DistrictUpdate,
        (),
        ("admin",),
    ),
    Spec(
        "street-offices",
        "street office",
        "street offices",
        m.StreetOffice,
        m.StreetOfficeCreate,
        m.StreetOfficeUpdate,
        ("district_id",),
    ),
    Spec(
        "communities",
        "community",
        "communities",
        m.Community,
        m.CommunityCreate,
        m.CommunityUpdate,
        ("street_office_id",),
    ),
    Spec(
        "buildings",
        "building",
        "buildings",
        m.Building,
        m.BuildingCreate,
        m.BuildingUpdate,
        ("community_id", "street_office_id", "district_id"),
    ),
    Spec(
        "units",
        "unit",
        "units",
        m.Unit,
        m.UnitCreate,
        m.UnitUpdate,
        (
            "building_id",
            "community_id",
            "street_office_id",
            "district_id",
            "contractor_id",
            "service_status",
        ),
    ),
    Spec(
        "contractors",
        "contractor",
        "contractors",
        m.Contractor,
        m.ContractorCreate,
        m.ContractorUpdate,
        (),
        # Contractors serve many districts: a rename would show in every one, so only an admin
        # renames. A bureau registers new ones and assigns them to its units.
        updaters=("admin",),
    ),
)


def _source(principal: Principal) -> str:
    return f"api:{principal.token_id}"


def _list_route(spec: Spec) -> Callable[..., Any]:
    # The filters become real, documented query parameters through the signature below.
    def handler(
        conn: ConnDep, scope: ScopeDep, limit: Limit = 100, cursor: Cursor = None, **filters: Any
    ) -> Any:
        rows, nxt = q.list_rows(
            conn, resource=spec.resource, scope=scope, filters=filters, after=cursor, limit=limit
        )
        return {"items": rows, "next_cursor": nxt}

    import inspect

    params = [p for p in inspect.signature(handler).parameters.values() if p.kind != p.VAR_KEYWORD]
    for name in spec.filters:
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Filter)
        )
    handler.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return handler


def _add(spec: Spec) -> None:
    key = f"{spec.resource.replace(' ', '_')}_id"
    key_path = Annotated[
        str, Path(alias=key, max_length=64, description=f"The {spec.resource}'s id.")
    ]

    router.add_api_route(
        f"/{spec.path}",
        _list_route(spec),
        methods=["GET"],
        response_model=Page[spec.model],  # type: ignore[name-defined]
        summary=f"List {spec.plural} in your scope",
        description=f"Ordered by id; page with `cursor`. Only {spec.plural} inside the caller's scope are listed.",
        responses=responses(401, 422),
        operation_id=f"list_{spec.path.replace('-', '_')}",
    )

    def get_one(conn: ConnDep, scope: ScopeDep, key_value: key_path) -> Any:
        return q.get_row(conn, resource=spec.resource, scope=scope, key=key_value)

    router.add_api_route(
        f"/{spec.path}/{{{key}}}",
        get_one,
        methods=["GET"],
        response_model=spec.model,
        summary=f"Get one {spec.resource}",
        description=f"404 when the {spec.resource} does not exist or lies outside the caller's scope.",
        responses=responses(401, 404, 422),
        operation_id=f"get_{key.removesuffix('_id')}",
    )

    def create(
        conn: ConnDep,
        principal: PrincipalDep,
        body: spec.create,  # type: ignore[name-defined]
        response: Response,
    ) -> Any:
        if principal.role not in spec.creators:
            raise Forbidden(f"a {principal.role} token may not create {spec.plural}")
        row = q.create_row(
            conn,
            resource=spec.resource,
            scope=principal.scope,
            values=body.model_dump(),
            source=_source(principal),
        )
        response.headers["Location"] = f"/v1/{spec.path}/{row[key]}"
        return row

    router.add_api_route(
        f"/{spec.path}",
        create,
        methods=["POST"],
        status_code=201,
        response_model=spec.model,
        summary=f"Create a {spec.resource}",
        description=f"Allowed to: {', '.join(spec.creators)} (a bureau only inside its district). "
        "An id already used outside the caller's scope answers 404, as an unknown parent does; "
        "409 only for an id the caller can see.",
        responses=responses(401, 403, 404, 409, 422),
        operation_id=f"create_{key.removesuffix('_id')}",
    )

    def update(
        conn: ConnDep,
        principal: Annotated[Principal, Depends(require(*spec.updaters))],
        key_value: key_path,
        body: spec.update,  # type: ignore[name-defined]
    ) -> Any:
        return q.update_row(
            conn,
            resource=spec.resource,
            scope=principal.scope,
            key=key_value,
            values=body.model_dump(exclude_unset=True),
            source=_source(principal),
        )

    router.add_api_route(
        f"/{spec.path}/{{{key}}}",
        update,
        methods=["PATCH"],
        response_model=spec.model,
        summary=f"Change a {spec.resource}",
        description=f"Only the fields sent change. Allowed to: {', '.join(spec.updaters)} (a bureau "
        "only inside its district). Unit changes, a new contractor included, are audited.",
        responses=responses(401, 403, 404, 409, 422),
        operation_id=f"update_{key.removesuffix('_id')}",
    )


for _spec in SPECS:
    _add(_spec)

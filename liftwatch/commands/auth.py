"""`liftwatch auth`: create, list and revoke API tokens."""

from __future__ import annotations

import argparse
import sys

from api.tokens import create_token, list_tokens, revoke_token
from core.db import transaction
from core.scope import ROLES

_SCOPE_HELP = (
    "the register id the token is bound to: a district_id for bureau, a street_office_id for "
    "street_office, a contractor_id for contractor; none for admin"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    auth = sub.add_parser("auth", help="API tokens: create-token, list, revoke")
    actions = auth.add_subparsers(dest="auth_command", metavar="ACTION", required=True)

    create = actions.add_parser(
        "create-token",
        help="create an API token and print it once",
        description="Create an API token for a role bound to a register id. The token is printed "
        "once and only its hash is stored: keep it somewhere safe. Roles: bureau (its district, may "
        "run scoring), street_office (its jurisdiction), contractor (its units, pushes events), "
        "admin (everything).",
    )
    create.add_argument("--role", required=True, choices=ROLES, help="what the token may do")
    create.add_argument("--scope", default=None, metavar="ID", help=_SCOPE_HELP)
    create.add_argument("--name", default=None, help="a label, e.g. who holds the token")
    create.set_defaults(func=_create)

    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.set_defaults(func=_list)

    revoke = actions.add_parser(
        "revoke",
        help="revoke a token by its id",
        description="Revoke a token; requests carrying it get 401 from then on. Give the token id "
        "shown by `liftwatch auth list` (or the whole token).",
    )
    revoke.add_argument("token_id", help="the token's id (the 12 hex digits after 'lw_')")
    revoke.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    with transaction() as conn:
        token, info = create_token(conn, role=args.role, bound_to=args.scope, name=args.name)
    print(token)
    print(
        f"token {info.token_id} ({info.role}{' of ' + info.bound_to if info.bound_to else ''}) "
        "created; this is the only time it is shown",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    with transaction() as conn:
        tokens = list_tokens(conn, include_revoked=args.all)
    if not tokens:
        print("no tokens; create one with `liftwatch auth create-token`")
        return 0
    print(f"{'id':<14}{'role':<15}{'scope':<20}{'created':<22}{'last used':<22}{'revoked':<22}name")
    for t in tokens:
        print(
            f"{t.token_id:<14}{t.role:<15}{t.bound_to or '-':<20}{_when(t.created_at):<22}"
            f"{_when(t.last_used_at):<22}{_when(t.revoked_at):<22}{t.name}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with transaction() as conn:
        info = revoke_token(conn, token_id=args.token_id)
    print(f"token {info.token_id} revoked at {_when(info.revoked_at)}")
    return 0


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if hasattr(value, "strftime") else "-"

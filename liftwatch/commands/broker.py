"""`liftwatch broker`: contractors' and workers' credentials on the broker (dynamic security)."""

from __future__ import annotations

import argparse

from core.errors import ConfigError
from core.i18n import t, user_lang
from core.settings import Settings, get_settings

_HOW = (
    "Talks to Mosquitto's dynamic-security plugin as its admin (LIFTWATCH_BROKER_ADMIN_URL, "
    "e.g. mqtt://admin:PASSWORD@127.0.0.1:1883); see deploy/README.md."
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = sub.add_parser(
        "broker",
        help="create, rotate and revoke broker credentials of contractors and ingest workers",
        description="Each contractor gets a broker user that may publish only under "
        "liftwatch/v1/{contractor_id}/#; an ingest worker's user may only subscribe. Passwords "
        "are printed once and stored by the broker as salted hashes. " + _HOW,
    )
    actions = broker.add_subparsers(dest="broker_command", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add-contractor",
        help="create a contractor's credentials, or rotate them (prints the new password once)",
        description="Create the broker user CONTRACTOR_ID, allowed to publish under "
        "liftwatch/v1/CONTRACTOR_ID/# only; if it exists, give it a new password (the old one "
        "stops working for new connections). " + _HOW,
    )
    add.add_argument("contractor_id", metavar="CONTRACTOR_ID")
    add.set_defaults(func=_add_contractor)

    worker = actions.add_parser(
        "add-worker",
        help="create or rotate an ingest worker's credentials (subscribe only)",
        description="Create the broker user NAME (default liftwatch-ingest) that may subscribe to "
        "liftwatch/# (also shared) and publish nothing; if it exists, rotate its password. " + _HOW,
    )
    worker.add_argument("name", nargs="?", default="liftwatch-ingest", metavar="NAME")
    worker.set_defaults(func=_add_worker)

    sync = actions.add_parser(
        "sync",
        help="give every contractor in the register broker credentials it does not have yet",
        description="Create broker users for the register's contractors that have none and print "
        "their passwords once; existing users keep theirs. " + _HOW,
    )
    sync.set_defaults(func=_sync)

    revoke = actions.add_parser(
        "revoke",
        help="delete a contractor's (or worker's) broker user; its connections end at once",
        description="Delete the broker user USERNAME: its clients are disconnected immediately "
        "and cannot connect again. " + _HOW,
    )
    revoke.add_argument("username", metavar="USERNAME")
    revoke.set_defaults(func=_revoke)


def _admin(settings: Settings) -> str:
    url = settings.broker_admin_url or settings.broker_url
    if not url:
        raise ConfigError(t(user_lang(), "broker.no_admin"))
    return url


def _print_password(username: str, password: str) -> None:
    print(f"{username}\t{password}")


def _add_contractor(args: argparse.Namespace) -> int:
    from ingest.brokerauth import DynSec

    settings = get_settings()
    with DynSec(_admin(settings), settings.broker_ca_file) as dynsec:
        _print_password(args.contractor_id, dynsec.add_contractor(args.contractor_id))
    print(t(user_lang(), "broker.contractor_shown"))
    return 0


def _add_worker(args: argparse.Namespace) -> int:
    from ingest.brokerauth import DynSec

    settings = get_settings()
    with DynSec(_admin(settings), settings.broker_ca_file) as dynsec:
        _print_password(args.name, dynsec.add_worker(args.name))
    print(t(user_lang(), "broker.worker_shown"))
    return 0


def _sync(args: argparse.Namespace) -> int:
    from core.db import connect
    from ingest.brokerauth import DynSec

    settings = get_settings()
    admin = _admin(settings)  # before the database: without a broker there is nothing to sync
    with connect() as conn:
        rows = conn.execute("SELECT contractor_id FROM contractor ORDER BY contractor_id")
        contractors = [row["contractor_id"] for row in rows]
    created = 0
    with DynSec(admin, settings.broker_ca_file) as dynsec:
        known = dynsec.usernames()
        for contractor_id in contractors:
            if contractor_id not in known:
                _print_password(contractor_id, dynsec.add_contractor(contractor_id))
                created += 1
    print(t(user_lang(), "broker.synced", created=created, existing=len(contractors) - created))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from ingest.brokerauth import DynSec

    settings = get_settings()
    with DynSec(_admin(settings), settings.broker_ca_file) as dynsec:
        if not dynsec.revoke(args.username):
            raise ConfigError(t(user_lang(), "broker.no_user", username=args.username))
    print(t(user_lang(), "broker.revoked", username=args.username))
    return 0

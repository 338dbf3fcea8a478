"""`liftwatch contract`: write or check the published event contract (docs/contract/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.errors import Invalid
from ingest.contractdocs import contract_files


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    contract = sub.add_parser("contract", help="the published MQTT/HTTP event contract")
    actions = contract.add_subparsers(dest="contract_command", metavar="ACTION", required=True)

    write = actions.add_parser(
        "write",
        help="generate the JSON Schemas, examples and fault-code table into DIR",
        description="Write one JSON Schema per event kind, an example message per kind, the "
        "GB/T 24476 fault-code table and an overview with the rejection reasons, all generated "
        "from the code.",
    )
    write.add_argument("dir", type=Path, nargs="?", default=Path("docs/contract"), metavar="DIR",
                       help="target directory (default docs/contract)")  # fmt: skip
    write.set_defaults(func=_write)

    check = actions.add_parser("check", help="fail if DIR differs from what the code generates")
    check.add_argument("dir", type=Path, nargs="?", default=Path("docs/contract"), metavar="DIR",
                       help="directory to compare (default docs/contract)")  # fmt: skip
    check.set_defaults(func=_check)


def _write(args: argparse.Namespace) -> int:
    for name, text in contract_files().items():
        path = args.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    stale = [
        name
        for name, text in contract_files().items()
        if not (args.dir / name).is_file() or (args.dir / name).read_text(encoding="utf-8") != text
    ]
    if stale:
        raise Invalid(
            f"out of date in {args.dir}: {', '.join(stale)}; run `liftwatch contract write {args.dir}`"
        )
    print(f"{args.dir} is up to date")
    return 0

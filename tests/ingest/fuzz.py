"""`make fuzz`: the properties of test_fuzz.py run for minutes, with counts at the end.

Each round runs every property test with fresh random examples (``LIFTWATCH_FUZZ_EXAMPLES`` per
test, 2000 by default); a property that fails is an escape, reported with its smallest example.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

os.environ.setdefault("LIFTWATCH_FUZZ_EXAMPLES", "2000")

from tests.ingest import test_fuzz

PROPERTIES = (
    test_fuzz.test_arbitrary_bytes_never_escape,
    test_fuzz.test_arbitrary_json_never_escapes,
    test_fuzz.test_mutated_messages_get_the_same_verdict_at_both_doors,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600, help="how long to run (600)")
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    rounds = escapes = 0
    while time.monotonic() < deadline:
        for prop in PROPERTIES:
            try:
                prop()
            except Exception:
                escapes += 1
                traceback.print_exc()
        rounds += 1
        checked = sum(test_fuzz.VERDICTS.values())
        print(f"round {rounds}: {checked} checks, {escapes} escapes", file=sys.stderr, flush=True)
    print(f"{rounds} rounds, {sum(test_fuzz.VERDICTS.values())} checks, {escapes} escapes")
    for verdict, n in test_fuzz.VERDICTS.most_common():
        print(f"  {verdict:20} {n}")
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())

"""Take the README's screenshot of the bureau overview from a running liftwatch (e.g. `make demo`).

    .venv/bin/python -m tests.dashboards.readme_screenshot --url http://127.0.0.1:8000 \\
        --token lw_... [--lang en] [--out docs/img/bureau-overview.png]

Uses Debian's Chromium like the browser tests; fails if the page has any error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.dashboards.browser import (
    CHROMIUM,
    INSTALL_HINT,
    Problems,
    chromium,
    sign_in,
    wait_for_figures,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot the bureau overview for the README.")
    parser.add_argument("--url", required=True, help="base URL of the running app")
    parser.add_argument("--token", required=True, help="a bureau (or admin) token")
    parser.add_argument("--lang", default="en", choices=("en", "zh-CN"))
    parser.add_argument("--out", type=Path, default=Path("docs/img/bureau-overview.png"))
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Debian's chromium at {CHROMIUM}; install: {INSTALL_HINT}", file=sys.stderr)
        return 2
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 1100})
        page = sign_in(context, args.url.rstrip("/"), args.token, lang=args.lang)
        problems = Problems()
        problems.watch(page)
        page.goto(f"{args.url.rstrip('/')}/dashboards/overview?lang={args.lang}")
        wait_for_figures(page)
        if problems.items:
            print("\n".join(problems.items), file=sys.stderr)
            return 1
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        context.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

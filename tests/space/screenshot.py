"""Write ``docs/space.png``: start the Space, generate with the page's defaults, screenshot the row viewer.

.venv/bin/python tests/space/screenshot.py [OUT.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from space_helpers import REPO_ROOT, PageWatch, chromium, generate_in_page, run_space


def main(out: Path, cache: Path | None = None) -> int:
    with tempfile.TemporaryDirectory() as tmp, run_space(cache or Path(tmp) / "space") as space:
        watch = PageWatch(urlsplit(space.url).netloc)
        with chromium(Path(tmp) / "profile") as browser:
            page = browser.new_page()
            watch.attach(page)
            page.goto(space.url, wait_until="load")
            generate_in_page(page)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(out), full_page=False)
    problems = watch.console_errors + watch.foreign_requests
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    print(f"wrote {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "docs" / "space.png"
    sys.exit(main(target, Path(sys.argv[2]) if len(sys.argv) > 2 else None))

"""A real headless Chromium (Debian's) opens the Space, runs a generation and looks at the row viewer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from space_helpers import CHROMIUM, PageWatch, SpaceProcess, chromium, generate_in_page

pytestmark = pytest.mark.integration


def test_browser_generates_and_shows_pieces_and_debate(space: SpaceProcess, tmp_path: Path) -> None:
    assert Path(CHROMIUM).is_file(), "install Debian's chromium: apt-get install -y chromium (see .ci/setup)"
    watch = PageWatch(urlsplit(space.url).netloc)
    with chromium(tmp_path / "profile") as browser:
        page = browser.new_page()
        watch.attach(page)
        page.goto(space.url, wait_until="load")
        generate_in_page(page)
        status = page.locator("#status").inner_text()
        assert "✔" in status, status

        pieces = page.locator("#row-view .ll-piece")
        assert pieces.count() > 1
        shaded = pieces.first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert shaded not in ("rgba(0, 0, 0, 0)", "transparent")
        assert "doc" in (pieces.first.get_attribute("title") or "")

        page.get_by_role("tab", name="Debate").click()
        debate = page.locator("#debate-view")
        debate.get_by_text("Debater A proposed").wait_for()
        assert "Judge rejected" in debate.inner_text()
        page.get_by_role("tab", name="Rows").click()
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(tmp_path / "space.png"), full_page=False)
    assert (tmp_path / "space.png").stat().st_size > 10_000
    assert watch.console_errors == []
    assert watch.foreign_requests == []

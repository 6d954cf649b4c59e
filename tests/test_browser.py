"""The built book in a real browser, offline: every page of the table of contents loads with its
images, every equation is typeset by the book's own MathJax, the console shows no error and no
request leaves the build folder.

Headless Chromium (Debian's ``/usr/bin/chromium``, or ``$NTK_STUDY_CHROMIUM``) is driven by
Playwright, which never downloads a browser here. The book is the end-to-end test config's
(the session fixture ``study``); set ``NTK_STUDY_BOOK`` to a built ``report/_build/html`` folder
to check that book instead (no workflow run).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path

import pytest
import yaml

CHROMIUM = Path(os.environ.get("NTK_STUDY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--no-first-run", "--no-default-browser-check", "--metrics-recording-only",
    # No host name resolves but the local server's (the requests are also intercepted, see `route`).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PAGE_TIMEOUT_MS = 60_000

# Run in the page after it loaded: waits for MathJax's first typeset, then reports what is wrong.
INSPECT = """async () => {
  const mathjax = window.MathJax;
  if (mathjax && mathjax.startup && mathjax.startup.promise) { await mathjax.startup.promise; }
  const math = [...document.querySelectorAll('.math')];
  const visible = document.body.cloneNode(true);
  visible.querySelectorAll('pre, code, script, style, mjx-assistive-mml').forEach(e => e.remove());
  return {
    mathjax: Boolean(mathjax && mathjax.version), mathjaxVersion: mathjax ? String(mathjax.version) : '',
    math: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
    mathErrors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(e => e.textContent.slice(0, 80)),
    text: visible.textContent,
    brokenImages: [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
                                     .map(i => i.getAttribute('src')),
    images: document.images.length,
  };
}"""
# TeX left in the text: \( \) \[ \] $$ or a control sequence such as \frac (code blocks excluded).
RAW_TEX = re.compile(r"\\[()\[\]]|\$\$|\\[A-Za-z]{2,}")


def toc_pages(toc_file: Path) -> list[str]:
    """Every page of a jupyter-book ``_toc.yml`` in reading order, as ``.html`` paths."""
    def walk(entry: dict) -> list[str]:
        pages = [entry["file"]] if "file" in entry else []
        for key in ("chapters", "sections", "parts"):
            for child in entry.get(key, []):
                pages += walk(child)
        return pages
    toc = yaml.safe_load(toc_file.read_text())
    return [re.sub(r"\.(md|ipynb|rst)$", "", page) + ".html" for page in [toc["root"], *walk(toc)]]


@pytest.fixture(scope="module")
def book(request) -> tuple[Path, Path]:
    """(the built HTML folder, the book's _toc.yml)."""
    if os.environ.get("NTK_STUDY_BOOK"):
        html = Path(os.environ["NTK_STUDY_BOOK"]).resolve()
    else:
        html = request.getfixturevalue("study") / "report" / "_build" / "html"
    assert (html / "index.html").is_file(), f"no built book at {html}"
    toc = html.parents[1] / "_toc.yml"
    return html, toc if toc.is_file() else Path(__file__).resolve().parents[1] / "report" / "_toc.yml"


@pytest.fixture(scope="module")
def server(book):
    """The build folder over HTTP on 127.0.0.1 (an ephemeral port); yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest's output clean
            pass
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(book[0])))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_toc_pages_include_nested_sections(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: index\nchapters:\n  - file: a\n    sections:\n      - file: b.md\n"
                   "  - file: c\n")
    assert toc_pages(toc) == ["index.html", "a.html", "b.html", "c.html"]


@pytest.mark.slow
def test_book_works_offline_in_a_browser(book, server, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set NTK_STUDY_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    html, toc = book
    pages = toc_pages(toc)
    problems: list[str] = []
    outside: list[str] = []
    page_name = ["(none)"]

    def route(request_route):
        url = request_route.request.url
        if url.startswith(server):
            request_route.continue_()
        else:
            outside.append(f"{page_name[0]}: {url}")
            request_route.abort("blockedbyclient")

    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, service_workers="block")
        context.route("**/*", route)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        page.on("console", lambda msg: msg.type == "error" and problems.append(
            f"{page_name[0]}: console error: {msg.text} ({msg.location.get('url', '')})"))
        page.on("pageerror", lambda error: problems.append(f"{page_name[0]}: script error: {error}"))
        page.on("response", lambda response: response.status >= 400 and problems.append(
            f"{page_name[0]}: HTTP {response.status} for {response.url}"))
        page.on("requestfailed", lambda request: request.url.startswith(server) and problems.append(
            f"{page_name[0]}: request failed: {request.url} ({request.failure})"))
        math_total = best_math = 0
        shots: dict[str, Path] = {}
        for name in pages:
            page_name[0] = name
            assert (html / name).is_file(), f"{name} is in the table of contents but was not built"
            page.goto(server + name, wait_until="load")
            page.wait_for_load_state("networkidle")
            found = page.evaluate(INSPECT)
            math_total += found["math"]
            if found["math"] and not found["mathjax"]:
                problems.append(f"{name}: {found['math']} equations but MathJax did not load")
            problems += [f"{name}: equation not typeset: {tex!r}" for tex in found["untypeset"]]
            problems += [f"{name}: MathJax error: {error!r}" for error in found["mathErrors"]]
            raw = [match.start() for match in RAW_TEX.finditer(found["text"])]
            if raw:
                around = " ".join(found["text"][max(raw[0] - 40, 0):raw[0] + 60].split())
                problems.append(f"{name}: raw TeX in the text ({len(raw)} places), first: {around!r}")
            problems += [f"{name}: image did not load: {src}" for src in found["brokenImages"]]
            # The front page, and the chapter with the most equations among those with images.
            if name == pages[0] or (found["images"] and found["math"] > best_math):
                if name != pages[0]:
                    best_math = found["math"]
                    for replaced in [shot for shot_name, shot in shots.items() if shot_name != pages[0]]:
                        replaced.unlink()
                    shots = {pages[0]: shots[pages[0]]}
                shots[name] = tmp_path / f"screenshot-{Path(name).stem}.png"
                page.screenshot(path=str(shots[name]), full_page=True)
        context.close()

    for name, shot in shots.items():
        print(f"screenshot of {name}: {shot}")
    problems += [f"request outside the build folder: {url}" for url in outside]
    assert math_total > 0, "no page of the book has an equation: the MathJax check checked nothing"
    assert len(shots) == 2, f"no chapter with both equations and images to screenshot (pages: {pages})"
    assert not problems, f"{len(problems)} problems in the built book:\n" + "\n".join(problems[:60])

"""The code editor bundle in Debian's Chromium, on tiny static pages (file://, no server): a
``<textarea data-editor="python">`` becomes a CodeMirror editor with Python highlighting, what is
typed lands in the textarea, and the form posts it; a page without such a textarea is untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, shot
from tests.web.editor_bundle import require_bundle

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

FORM = """<!doctype html><html><head><meta charset="utf-8"><title>editor</title>
<script src="{bundle}" defer></script></head><body>
<form id="f" onsubmit="event.preventDefault(); window.posted = new FormData(this).get('code');">
<textarea name="code" data-editor="python" rows="8">def greet(name):
    return f"hello {{name}}"</textarea>
<textarea name="notes">plain text stays a textarea</textarea>
<button type="submit">Save</button></form></body></html>"""

EMPTY = """<!doctype html><html><head><meta charset="utf-8"><script src="{bundle}"></script></head>
<body><p id="p">no editor here</p></body></html>"""


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[tuple[Page, list[str]]]:
    bundle = require_bundle()
    for name, html in (("form.html", FORM), ("empty.html", EMPTY)):
        (tmp_path / name).write_text(html.format(bundle=bundle.as_uri()), encoding="utf-8")
    context = browser.new_context(base_url=tmp_path.as_uri() + "/", viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield opened, errors
    finally:
        context.close()


def test_python_textarea_becomes_a_codemirror_editor_that_feeds_the_form(page):
    from playwright.sync_api import expect

    opened, errors = page
    opened.goto("form.html")
    editor = opened.locator(".cm-editor")
    expect(editor).to_have_count(1)  # only the python textarea, not the plain one
    expect(editor).to_be_visible()
    expect(opened.locator("textarea[name=code]")).to_be_hidden()
    expect(opened.locator("textarea[name=notes]")).to_be_visible()
    expect(editor.locator(".cm-gutters .cm-gutterElement", has_text="2")).to_be_visible()  # line numbers
    # Python highlighting: the keyword is its own styled span, coloured unlike plain names.
    keyword = editor.locator(".cm-line span", has_text="def").first
    name = editor.locator(".cm-line", has_text="def greet").first
    assert keyword.evaluate("e => getComputedStyle(e).color") != name.evaluate("e => getComputedStyle(e).color")

    editor.locator(".cm-content").click()
    opened.keyboard.press("Control+End")
    opened.keyboard.press("Enter")
    opened.keyboard.press("Shift+Tab")  # Tab/Shift+Tab indent and dedent by 4 spaces in the editor
    opened.keyboard.press("Tab")
    opened.keyboard.type("print(greet('x'))")  # the closing brackets and quote are typed over
    textarea = opened.locator("textarea[name=code]")
    expect(textarea).to_have_value('def greet(name):\n    return f"hello {name}"\n    print(greet(\'x\'))')
    assert textarea.input_value() == textarea.evaluate("t => t.editorView.state.doc.toString()")
    opened.get_by_role("button", name="Save").click()
    assert opened.evaluate("window.posted") == textarea.input_value()
    shot(opened, "editor-bundle")
    assert errors == []


def test_a_page_without_a_python_textarea_is_untouched(page):
    opened, errors = page
    opened.goto("empty.html")
    opened.wait_for_function("() => window.dasEditor !== undefined")
    assert opened.locator(".cm-editor").count() == 0
    assert opened.locator("#p").inner_text() == "no editor here"
    assert errors == []

"""The Data page in a real browser: the demo's objects listed, a 1.5 MB file uploaded through the form
(Chromium's own multipart body: bottle#1470 territory), its page and a CSV shown as a table, and
tags changed. One served `System` with the demo config for the module; see `conftest`."""

from __future__ import annotations

import hashlib
import os
import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import Api, poll, shot, unique
from tests.browser.test_panel import expect, reload_until

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

pytestmark = pytest.mark.system


def test_the_demo_objects_show_on_the_data_page(page: Page, api: Api) -> None:
    poll(lambda: {"readings.csv", "summary.json"} <= {o["name"] for o in api.call("objects")["objects"]}, 60,
         what="the demo objects")
    page.goto("data")
    reload_until(page, '[data-testid="object-row"][data-name="summary.json"]')
    expect(page.locator("#nav-data")).to_have_class("active")
    row = page.locator('[data-testid="object-row"][data-name="readings.csv"]')
    expect(row).to_contain_text("csv")
    expect(row.get_by_test_id("producer")).to_contain_text("demo-readings #")
    shot(page, "data", full_page=True)
    row.get_by_test_id("object-link").click()
    expect(page.locator("#object-csv thead")).to_contain_text("sensor")
    expect(page.locator("#object-csv tbody tr")).to_have_count(50)
    shot(page, "object-csv")


def test_upload_a_file_over_1_mb_through_the_form(page: Page, api: Api, tmp_path: Path) -> None:
    data = os.urandom(1_500_000)
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    name = unique("browser-upload") + ".bin"
    page.goto("data")
    page.set_input_files("#upload-file", str(source))
    page.fill("#upload-name", name)
    page.fill("#upload-tags", "browser, big")
    page.click("#upload-submit")
    expect(page).to_have_url(re.compile(rf"/analytics/data/objects/{re.escape(name)}$"))
    expect(page.locator("#object-sha256")).to_have_text(hashlib.sha256(data).hexdigest())
    expect(page.get_by_test_id("flash")).to_contain_text("version 1")
    page.fill("#tag-add", "kept")
    page.fill("#tag-remove", "big")
    page.click("#tag-submit")
    expect(page.locator("#object-tags")).to_have_text(re.compile(r"browser\s+kept"))
    assert api.call(f"objects/{name}")["object"]["tags"] == ["browser", "kept"]
    shot(page, "object-bytes")

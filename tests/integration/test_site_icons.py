"""Every page names the site's icons and web-app manifest; /favicon.ico answers (it was a
404 on every page) and the manifest is served as one, with the 192 and 512 px icons."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client
from PIL import Image

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_pages_link_the_icons_and_the_manifest():
    page = Client().get("/accounts/login/").content.decode()
    assert f'<link rel="icon" href="{static("icons/favicon.svg")}" type="image/svg+xml">' in page
    assert f'href="{static("icons/favicon.ico")}"' in page
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_favicon_ico_leads_to_a_real_icon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == static("icons/favicon.ico")
    with Image.open(finders.find("icons/favicon.ico")) as icon:
        assert icon.format == "ICO"
        assert {(16, 16), (32, 32), (48, 48)} <= set(icon.info["sizes"])
    svg = Path(finders.find("icons/favicon.svg")).read_text()
    assert svg.startswith("<svg") and 'viewBox="0 0 100 100"' in svg


def test_the_manifest_names_the_site_its_colour_and_its_icons():
    response = Client().get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "循环 Xunhuan" and manifest["start_url"] == "/"
    green = re.search(r"--green:\s*(#[0-9a-f]{6})", (ROOT / "static/css/site.css").read_text()).group(1)
    assert manifest["theme_color"] == green
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    for size in (192, 512):
        src = sizes[f"{size}x{size}"]
        assert src == static(f"icons/icon-{size}.png")
        with Image.open(finders.find(f"icons/icon-{size}.png")) as image:
            assert image.format == "PNG" and image.size == (size, size)

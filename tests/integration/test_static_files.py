"""Static files in production: `collectstatic` with the production settings writes hashed,
gzip- and brotli-compressed copies of every app's files, and the app itself (WhiteNoise)
serves them with a long immutable cache, so a single gunicorn is a complete deployment.

collectstatic runs once for the module (brotli over all the Wagtail and admin files takes
some seconds); the same collected directory backs the in-process checks and gunicorn."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import runpy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import brotli
import pytest
from django.template import Context, Template
from django.test import Client, override_settings

# The test client's request signals check the database connection, even for a static file.
pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "x" * 20 + "a-long-random-production-secret-0123456789"
# What config.settings.production needs from the environment to start (see test_deploy_checks.py).
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}
HASHED = re.compile(r"\.[0-9a-f]{12}\.")
ONE_YEAR = 365 * 24 * 60 * 60


def production_environment(static_root: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**inherited, **PRODUCTION_ENV, "DJANGO_STATIC_ROOT": str(static_root)}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static files collected by `manage.py collectstatic --no-input` under the production settings."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input"],
        cwd=ROOT,
        env=production_environment(root),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture(scope="module")
def manifest(static_root: Path) -> dict[str, str]:
    paths: dict[str, str] = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    return paths


@pytest.fixture(scope="module")
def production() -> dict[str, Any]:
    """The production settings module's values (read without making it the active settings)."""
    with mock.patch.dict(os.environ, PRODUCTION_ENV):
        return runpy.run_module("config.settings.production")


@pytest.fixture
def production_static(production: dict[str, Any], static_root: Path) -> Iterator[None]:
    """The test settings with production's storage and middleware, serving `static_root`."""
    with override_settings(
        STATIC_ROOT=static_root,
        STORAGES=production["STORAGES"],
        MIDDLEWARE=production["MIDDLEWARE"],
    ):
        yield


def get(client: Client, url: str, encoding: str) -> tuple[Any, bytes]:
    response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response, body


def max_age(cache_control: str) -> int:
    found = re.search(r"max-age=(\d+)", cache_control)
    assert found, cache_control
    return int(found.group(1))


def test_production_serves_static_files_with_whitenoise_after_security(production):
    middleware = production["MIDDLEWARE"]
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == (
        middleware.index("django.middleware.security.SecurityMiddleware") + 1
    )
    assert production["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_collectstatic_writes_hashed_gzip_and_brotli_copies_for_every_app(static_root, manifest):
    # Ours, Wagtail's admin and Django's admin: the manifest storage processed them all.
    for name in ("css/site.css", "js/site.js", "wagtailadmin/js/core.js", "admin/css/base.css"):
        hashed = manifest[name]
        assert HASHED.search(hashed), hashed
        assert (static_root / hashed).is_file()
        assert (static_root / f"{hashed}.gz").is_file()
        assert (static_root / f"{hashed}.br").is_file()
    assert brotli.decompress((static_root / f"{manifest['css/site.css']}.br").read_bytes()) == (
        (static_root / manifest["css/site.css"]).read_bytes()
    )


@pytest.mark.usefixtures("production_static")
@pytest.mark.parametrize(
    ("accept", "encoding"),
    [("br, gzip, deflate", "br"), ("gzip, deflate", "gzip"), ("identity", None)],
)
def test_a_hashed_file_is_served_compressed_with_a_long_immutable_cache(static_root, manifest, accept, encoding):
    name = manifest["css/site.css"]
    response, body = get(Client(), f"/static/{name}", accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert max_age(response["Cache-Control"]) >= ONE_YEAR
    assert "immutable" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert response["Vary"] == "Accept-Encoding"
    assert response.get("Content-Encoding") == encoding
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](body)
    assert decoded == (static_root / name).read_bytes()
    # It still passed through SecurityMiddleware.
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.usefixtures("production_static")
def test_an_unhashed_name_is_cached_briefly_and_a_repeat_visit_gets_304(manifest):
    client = Client()
    response, _ = get(client, "/static/css/site.css", "gzip")
    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"]
    assert max_age(response["Cache-Control"]) <= 60
    hashed, _ = get(client, f"/static/{manifest['css/site.css']}", "gzip")
    again = client.get(f"/static/{manifest['css/site.css']}", HTTP_IF_NONE_MATCH=hashed["ETag"])
    assert again.status_code == 304


@pytest.mark.usefixtures("production_static")
def test_templates_render_the_hashed_names(manifest):
    rendered = Template("{% load static %}{% static 'css/site.css' %}").render(Context())
    assert rendered == f"/static/{manifest['css/site.css']}"
    page = Client().get("/accounts/login/").content.decode()
    assert f'href="/static/{manifest["css/site.css"]}"' in page
    assert f'src="/static/{manifest["js/site.js"]}"' in page
    # Wagtail's admin pages load their own files, hashed too.
    admin = Client().get("/cms-admin/login/")
    assert admin.status_code == 200
    wagtail_files = re.findall(r'/static/(wagtailadmin/[^"?]+)', admin.content.decode())
    assert wagtail_files
    assert all(HASHED.search(name) for name in wagtail_files), wagtail_files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def gunicorn(static_root: Path) -> Iterator[str]:
    """`gunicorn config.wsgi` with the production settings (the whole deployment, one process): its host:port."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "config.wsgi"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--graceful-timeout", "5"),
        ],
        cwd=ROOT,
        env=production_environment(static_root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    _, stderr = process.communicate()
                    pytest.fail(f"gunicorn did not start: {stderr.decode()}")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_a_single_gunicorn_serves_the_hashed_compressed_files(gunicorn, static_root, manifest):
    name = manifest["wagtailadmin/js/core.js"]
    connection = http.client.HTTPConnection(gunicorn, timeout=30)
    try:
        # TLS ends at the proxy or load balancer in front (SECURE_PROXY_SSL_HEADER).
        connection.request("GET", f"/static/{name}", headers={"Accept-Encoding": "br", "X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert "immutable" in response.headers["Cache-Control"]
    assert max_age(response.headers["Cache-Control"]) >= ONE_YEAR
    assert brotli.decompress(body) == (static_root / name).read_bytes()

from typing import Any

from allauth.headless import urls as headless_urls
from allauth.headless.spec.internal.schema import get_schema as headless_schema
from django.conf import settings
from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path, resolve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from cms import page_cache as cms_page_cache
from config.api import api
from config.errors import api_not_found, page_not_found, server_error
from config.site_files import favicon, robots_txt, web_manifest
from marketplace.views.accounts import AtomicSignupView
from marketplace.views.language import language_choose

# allauth headless endpoints for features we do not offer: phone numbers, login by
# e-mailed code, and JWT refresh tokens (our app clients use session tokens). Left out of
# the URLs, they answer 404 like any unknown path, and leave the served specification.
UNUSED_HEADLESS_ENDPOINTS = frozenset(
    {
        "manage_phone",
        "verify_phone",
        "resend_phone_verification_code",
        "confirm_login_code",
        "request_login_code",
        "resend_login_code",
        "refresh",
    }
)


def without_endpoints(
    patterns: list[URLPattern | URLResolver], names: frozenset[str]
) -> list[URLPattern | URLResolver]:
    kept: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver) and isinstance(pattern.urlconf_name, list):
            pattern = URLResolver(
                pattern.pattern,
                without_endpoints(pattern.urlconf_name, names),
                pattern.default_kwargs,
                pattern.app_name,
                pattern.namespace,
            )
        elif isinstance(pattern, URLPattern) and pattern.name in names:
            continue
        kept.append(pattern)
    return kept


def headless_openapi_json(request: HttpRequest) -> JsonResponse:
    """allauth's specification of the endpoints we serve. allauth's own view cannot encode
    the sign-up form's translated help texts (lazy strings); DjangoJSONEncoder can."""
    schema = headless_schema()
    schema["paths"] = {path: item for path, item in schema["paths"].items() if headless_path_served(path)}
    describe_actual_answers(schema)
    return JsonResponse(schema, encoder=DjangoJSONEncoder, content_type="application/vnd.oai.openapi+json")


def describe_actual_answers(schema: dict[str, Any]) -> None:
    """Where allauth (65.x) answers differently from its specification, the specification we
    serve says what clients actually get: an authentication flow that was never started has
    `is_authenticated: null`, and endpoints documented as "401: reauthenticate" also answer
    401 "not signed in" (the AuthenticationResponse) to anonymous callers."""
    meta = schema["components"]["schemas"]["AuthenticationMeta"]["allOf"][1]["properties"]
    meta["is_authenticated"] = {"type": "boolean", "nullable": True}
    either = {"$ref": "#/components/responses/AuthenticationOrReauthentication"}
    for item in schema["paths"].values():
        for operation in item.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            if responses.get("401") == {"$ref": "#/components/responses/ReauthenticationRequired"}:
                responses["401"] = either


def headless_path_served(path: str) -> bool:
    """allauth keeps the paths that resolve; under /_allauth/ every path does (to the JSON 404)."""
    clients: tuple[Any, ...] = tuple(settings.HEADLESS_CLIENTS)
    return any(resolve(path.replace("{client}", client)).func is not api_not_found for client in clients)


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("manifest.webmanifest", web_manifest, name="web_manifest"),
    path("robots.txt", robots_txt, name="robots_txt"),
    path("django-admin/", admin.site.urls),
    path("cms-admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("language/", language_choose, name="language_choose"),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("accounts/signup/", AtomicSignupView.as_view(), name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("_allauth/openapi.json", headless_openapi_json, name="headless_openapi_json"),
    path("_allauth/", include((without_endpoints(headless_urls.urlpatterns, UNUSED_HEADLESS_ENDPOINTS), "headless"))),
    re_path(r"^_allauth/", api_not_found),
    path("", include("marketplace.urls")),
    path("", include("marketplace.credit.urls")),
    path("", include("marketplace.city.urls")),
    path("", include("marketplace.consignment.urls")),
    path("", include("search.urls")),
    path("", include("wipe_cert.urls")),
    path("", include("cms.urls")),
    path("", include("grading.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves the CMS page tree (home page, events, book swaps) last, through the page
# cache (cms/page_cache.py). Wagtail's own "_util/" views keep their routes.
urlpatterns += [
    re_path(r"^(?!_util/)((?:[\w\-]+/)*)$", cms_page_cache.serve),
    path("", include(wagtail_urls)),
]

handler404 = page_not_found
handler500 = server_error

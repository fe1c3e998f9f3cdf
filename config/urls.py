from allauth.headless.spec.internal.schema import get_schema as headless_schema
from django.conf import settings
from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from config.api import api
from config.errors import page_not_found, server_error
from marketplace.views.accounts import AtomicSignupView


def headless_openapi_json(request: HttpRequest) -> JsonResponse:
    """allauth's own view cannot encode the sign-up form's translated help texts (lazy
    strings); DjangoJSONEncoder can."""
    return JsonResponse(headless_schema(), encoder=DjangoJSONEncoder, content_type="application/vnd.oai.openapi+json")


urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("cms-admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("accounts/signup/", AtomicSignupView.as_view(), name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("_allauth/openapi.json", headless_openapi_json, name="headless_openapi_json"),
    path("_allauth/", include("allauth.headless.urls")),
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

# Wagtail serves the CMS page tree (home page, events, book swaps) last.
urlpatterns.append(path("", include(wagtail_urls)))

handler404 = page_not_found
handler500 = server_error

"""AA's ``tests/urls.py``: the site's URLs plus the navhelper test pages."""

import allianceauth.urls
from django.http import HttpResponse
from django.urls import path


def page(request):
    return HttpResponse("<html><body>page</body></html>")


urlpatterns = [
    *allianceauth.urls.urlpatterns,
    path("main-page/", page, name="p1"),
    path("main-page/sub-section/", page, name="p1-s1"),
    path("second-page/", page, name="p1"),
]

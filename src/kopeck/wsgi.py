"""The WSGI application (``gunicorn kopeck.wsgi:application``): Django's full middleware stack, except
for the payment providers' notifications (``/gateways/``), which get only the security middleware
(kopeck.common.http.lean says why)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopeck.settings")
_full = get_wsgi_application()  # sets Django up

from kopeck.common.http.lean import LeanHandler, PathDispatcher  # noqa: E402 - needs Django set up

PROVIDER_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware",)
application = PathDispatcher(_full, {"/gateways/": LeanHandler(PROVIDER_MIDDLEWARE)})

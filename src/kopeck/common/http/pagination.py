from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.pagination import PageNumberPagination

from kopeck.common.errors import ValidationFailed


def _positive(params: Any, name: str, maximum: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise ValidationFailed.field(name, _("Must be a whole number from 1."))
    if maximum is not None and int(raw) > maximum:
        raise ValidationFailed.field(name, _("At most %(max)d.") % {"max": maximum})
    return int(raw)


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M from 1 to KOPECK_PAGE_SIZE_MAX, default 50). The reply has count,
    next, previous and results. A page or page size that is not a whole number from 1 is a 400; a page
    after the last one is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.KOPECK_PAGE_SIZE_MAX

    def get_page_size(self, request: Any) -> int:
        return _positive(request.query_params, "page_size", self.max_page_size) or self.page_size

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        _positive(request.query_params, "page")
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            param["schema"]["minimum"] = 1
            if param["name"] == "page_size":
                param["schema"]["maximum"] = self.max_page_size
        return params

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M up to 500). The reply has count, next, previous and results."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = settings.KOPECK_PAGE_SIZE_MAX

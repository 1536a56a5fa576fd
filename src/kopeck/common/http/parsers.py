"""The JSON the API reads: bounded nesting, no NaN/Infinity, no NUL characters (PostgreSQL's text
cannot hold them), every refusal a 400 problem."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


def _reject_constant(name: str) -> Any:
    raise ValueError(_("%(name)s is not valid JSON") % {"name": name})


def _nul_path(value: Any, path: str, depth: int, limit: int) -> str | None:
    """The first path holding a NUL character; raises ParseError past ``limit`` levels."""
    if depth > limit:
        raise exceptions.ParseError(_("The JSON is nested deeper than %(limit)d levels.") % {"limit": limit})
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return where
            found = _nul_path(item, where, depth + 1, limit)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_path(item, f"{path}.{i}" if path else str(i), depth + 1, limit)
            if found is not None:
                return found
    return None


def loads(body: bytes | str, *, nul_allowed: bool = False) -> Any:
    """Decode a JSON body under the API's rules (ParseError / ValidationError otherwise).
    ``nul_allowed``: the caller refuses NUL characters itself, item by item (usage batches)."""
    limit = int(settings.KOPECK_JSON_MAX_DEPTH)
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise exceptions.ParseError(_("The JSON is nested deeper than %(limit)d levels.") % {"limit": limit}) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise exceptions.ParseError(_("The body is not valid JSON: %(error)s") % {"error": exc}) from None
    path = _nul_path(data, "", 0, limit)
    if path is not None and not nul_allowed:
        raise exceptions.ValidationError({path or "body": [_("NUL characters are not allowed.")]})
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return loads(stream.read() if stream is not None else b"")

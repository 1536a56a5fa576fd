"""The grammatical forms the back office needs of a model's name.

Russian titles put a model's name in a case ("Добавить клиента", "Изменить подписку", "История
документа") and counts need three plural forms ("1 клиент", "2 клиента", "5 клиентов"). Django
gives a model only its nominative ``verbose_name`` and ``verbose_name_plural``, so the other forms
live in the translation catalogues under a message context, keyed by the English name:

    msgctxt "accusative"            msgctxt "genitive"             msgctxt "count"
    msgid "client"                  msgid "client"                 msgid "client"
    msgstr "клиента"                msgstr "клиента"               msgid_plural "clients"
                                                                   msgstr[0] "клиент"
                                                                   msgstr[1] "клиента"
                                                                   msgstr[2] "клиентов"

English needs no entry: an untranslated message is its English name. ``missing_forms`` lists the
models whose Russian forms are missing (a test checks every model the admin shows has them)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import Model
from django.db.models.options import Options
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext, npgettext, pgettext

CASES = ("accusative", "genitive")


def _opts(model: type[Model] | Model | Options[Any]) -> Options[Any]:
    return model if isinstance(model, Options) else model._meta


def english_names(model: type[Model] | Model | Options[Any]) -> tuple[str, str]:
    """The model's English singular and plural names (the msgids of its forms)."""
    return _english_names(_opts(model).label_lower)


@cache
def _english_names(label: str) -> tuple[str, str]:
    from django.apps import apps

    opts = apps.get_model(label)._meta
    with translation.override("en"):
        return str(opts.verbose_name), str(opts.verbose_name_plural)


def name_in(model: type[Model] | Model | Options[Any], case: str) -> str:
    """The model's name in ``case`` ("accusative" or "genitive") in the active language."""
    singular, _plural = english_names(model)
    form = pgettext(case, singular)
    return form if form != singular or _is_english() else str(_opts(model).verbose_name)


def count_of(model: type[Model] | Model | Options[Any], count: int) -> str:
    """``count`` with the model's name in the right plural form: "5 клиентов", "1 client"."""
    singular, plural = english_names(model)
    word = npgettext("count", singular, plural, count)
    if not _is_english() and word in (singular, plural):  # no Russian forms: the nominative, as before
        word = str(_opts(model).verbose_name if count == 1 else _opts(model).verbose_name_plural)
    return f"{count} {word}"


def _is_english() -> bool:
    return (translation.get_language() or "").startswith("en")


def titles(model: type[Model] | Model | Options[Any]) -> dict[str, str]:
    """The back office's page titles of a model in the active language."""
    opts = _opts(model)
    acc, gen = name_in(opts, "accusative"), name_in(opts, "genitive")
    return {
        "changelist": capfirst(str(opts.verbose_name_plural)),
        "add": gettext("Add %(name)s") % {"name": acc},
        "change": gettext("Change %(name)s") % {"name": acc},
        "view": gettext("View %(name)s") % {"name": gen},
        "delete": gettext("Delete %(name)s") % {"name": acc},
        "history": gettext("History of %(name)s") % {"name": gen},
        "select": gettext("Select %(name)s") % {"name": acc},
    }


def missing_forms(models: list[type[Model]], language: str = "ru") -> list[str]:
    """``app_label.model: form`` for every Russian form the catalogues lack."""
    missing = []
    with translation.override(language):
        for model in models:
            singular, plural = english_names(model)
            label = model._meta.label_lower
            for case in CASES:
                if pgettext(case, singular) == singular:
                    missing.append(f"{label}: {case} of {singular!r}")
            if npgettext("count", singular, plural, 5) in (singular, plural):
                missing.append(f"{label}: count of {singular!r}")
    return missing

"""Finding 3 of issue 12: rendering is bounded (time, output size, loop iterations, integer size) for
previews and real documents alike, and a preview needs the template-edit permission."""

from __future__ import annotations

import time

import pytest
from django.test import Client as WebClient
from django.test import override_settings

from kopeck.common.actor import Actor
from kopeck.documents.rendering import TemplateRefused, render_source, template_problems
from kopeck.operators.roles import Role
from kopeck.operators.services import operator_create

ATTACKS = {
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "silent nested loops with work": "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}"
                                     "{% endfor %}{% endfor %}",
    "a huge string": "{{ 'a' * 50000000 }}",
    "a huge power": "{{ 10 ** 100000 }}",
    "a tower of powers": "{{ 9 ** 9 ** 9 ** 9 }}",  # (9 ** 81) ** 9 in Jinja: 696 digits
    "squaring in a loop": "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}"
                          "{% endfor %}{{ ns.x }}",
    "doubling by concatenation": "{% set ns = namespace(s='ab') %}{% for i in range(60) %}"
                                 "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "doubling by plus": "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}"
                        "{% endfor %}",
    "a wide center": "{{ 'a'|center(500000000) }}",
    "a wide format": "{{ '%0999999999d'|format(5) }}",
    "a wide percent": "{{ '%0999999999d' % 5 }}",
    "a growing replace": "{{ ('a' * 1000000)|replace('a', 'bbbbbbbbbbbbbbbbbbbb') }}",
    "a long output": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
    "a recursive macro": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_runaway_template_is_refused_quickly(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRefused):
        render_source(ATTACKS[name], {})
    assert time.monotonic() - started < 6  # KOPECK_TEMPLATE_MAX_SECONDS is 5; most stop at once


@pytest.mark.parametrize("name", ["nested loops", "a huge power", "a wide center", "a long output"])
def test_template_checks_are_bounded_too(name: str) -> None:
    started = time.monotonic()
    problems = template_problems(ATTACKS[name], {})
    assert problems and time.monotonic() - started < 6


@override_settings(KOPECK_TEMPLATE_MAX_SECONDS=0.3)
def test_the_time_limit_stops_slow_work() -> None:
    started = time.monotonic()
    with pytest.raises(TemplateRefused, match=r"longer than 0\.3 seconds"):
        render_source("{% for i in range(100000) %}{% for j in range(9) %}{{ (i * j) % 7 }}{% endfor %}"
                      "{% endfor %}", {})
    assert time.monotonic() - started < 2


def test_ordinary_templates_still_render() -> None:
    html = render_source("{% for i in range(3) %}{{ i ~ '-' ~ (2 ** 10) }}{% if not loop.last %},{% endif %}"
                         "{% endfor %} {{ 'ab' * 3 }} {{ 'x'|center(5) }} {{ '%05d' % 42 }}", {})
    assert html == "0-1024,1-1024,2-1024 ababab   x   00042"


def test_reserved_names_and_long_sources_are_refused() -> None:
    assert template_problems("{% set __kopeck_loop__ = range %}", {}) == ["names starting with __kopeck are reserved"]
    assert template_problems("x" * 300_000, {})[0].startswith("the template is longer than")


@pytest.mark.django_db
def test_a_preview_needs_the_template_edit_permission(clock: object) -> None:
    reader = operator_create(username="reader", password="r" * 12, role=Role.READ_ONLY, actor=Actor.system())
    reader.is_staff = True
    reader.save()
    web = WebClient()
    web.force_login(reader)
    r = web.post("/en/admin/documents/documenttemplate/preview/",
                 {"form": "invoice", "language": "ru", "html": ATTACKS["nested loops"]})
    assert r.status_code == 403
    admin = operator_create(username="boss", password="b" * 12, role=Role.ADMINISTRATOR, actor=Actor.system())
    admin.is_staff = True
    admin.save()
    web.force_login(admin)
    started = time.monotonic()
    r = web.post("/en/admin/documents/documenttemplate/preview/",
                 {"form": "invoice", "language": "ru", "html": ATTACKS["nested loops"]})
    assert r.status_code == 200 and r.json()["html"] == "" and r.json()["problems"]
    assert time.monotonic() - started < 6

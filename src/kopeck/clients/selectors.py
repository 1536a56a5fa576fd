from __future__ import annotations

from django.db.models import Q, QuerySet

from kopeck.clients.models import Client, ClientFieldDefinition, Contact


def client_list(
    *, type: str | None = None, status: str | None = None, currency: str | None = None,
    tag: str | None = None, search: str | None = None,
) -> QuerySet[Client]:
    qs = Client.objects.all().prefetch_related("tags", "contacts")
    if type:
        qs = qs.filter(type=type)
    if status:
        qs = qs.filter(status=status)
    if currency:
        qs = qs.filter(currency=currency.upper())
    if tag:
        qs = qs.filter(tags__name=tag)
    if search:
        term = search.strip()
        qs = qs.filter(Q(search_text__contains=term.casefold()) | Q(external_id=term) | Q(fields__inn=term))
    return qs.distinct().order_by("id")


def client_search(term: str) -> QuerySet[Client]:
    """Clients for the back office's global search: by name or requisites (``search_text``), ИНН,
    external id, or an e-mail or phone of one of their contacts."""
    term = term.strip()
    if not term:
        return Client.objects.none()
    by_contact = Contact.objects.filter(value__iexact=term).values("client_id")
    return Client.objects.filter(
        Q(search_text__contains=term.casefold()) | Q(external_id=term) | Q(fields__inn=term) | Q(pk__in=by_contact)
    ).order_by("name", "id")


def field_definitions(client_type: str | None = None) -> QuerySet[ClientFieldDefinition]:
    qs = ClientFieldDefinition.objects.all()
    if client_type:
        qs = qs.filter(client_type=client_type)
    return qs.order_by("client_type", "position", "id")

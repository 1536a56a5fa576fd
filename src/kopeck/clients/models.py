from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClientType(models.TextChoices):
    LEGAL = "legal", _("Legal entity")
    SOLE_PROPRIETOR = "sole_proprietor", _("Sole proprietor (ИП)")
    INDIVIDUAL = "individual", _("Individual")


class ClientStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    BLOCKED = "blocked", _("Blocked")
    CLOSED = "closed", _("Closed")


class FieldKind(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    INN = "inn", _("ИНН")
    KPP = "kpp", _("КПП")
    OGRN = "ogrn", _("ОГРН")
    OGRNIP = "ogrnip", _("ОГРНИП")
    BIK = "bik", _("БИК")
    SETTLEMENT_ACCOUNT = "settlement_account", _("Settlement account (р/с)")
    CORRESPONDENT_ACCOUNT = "correspondent_account", _("Correspondent account (к/с)")


class ClientFieldDefinition(models.Model):
    """One field of the operator-configured field set of a client type
    ("Поля юридическое лицо", "Поля физическое лицо")."""

    client_type = models.CharField(_("client type"), max_length=20, choices=ClientType.choices)
    code = models.SlugField(_("code"), max_length=50)
    label_ru = models.CharField(_("label (Russian)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=30, choices=FieldKind.choices)
    required = models.BooleanField(_("required"), default=False)
    help_ru = models.CharField(_("help text (Russian)"), max_length=500, blank=True)
    help_en = models.CharField(_("help text (English)"), max_length=500, blank=True)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("client field")
        verbose_name_plural = _("client fields")
        ordering = ["client_type", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["client_type", "code"], name="client_field_unique_code")]

    def __str__(self) -> str:
        return f"{self.get_client_type_display()}: {self.code}"


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    type = models.CharField(_("type"), max_length=20, choices=ClientType.choices)
    name = models.CharField(_("name"), max_length=300)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=ClientStatus.choices, default=ClientStatus.ACTIVE)
    currency = models.CharField(_("currency"), max_length=3)
    fields = models.JSONField(_("fields"), default=dict, blank=True)
    search_text = models.TextField(editable=False, default="")  # casefolded names, for search on any database
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="clients")
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["id"]
        indexes = [models.Index(fields=["type", "status"], name="client_type_status_idx")]

    def __str__(self) -> str:
        return self.name


class ContactKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")


class Contact(models.Model):
    client = models.ForeignKey(Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    value = models.CharField(_("value"), max_length=254)
    name = models.CharField(_("name"), max_length=200, blank=True)
    receives_documents = models.BooleanField(_("receives documents"), default=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.value

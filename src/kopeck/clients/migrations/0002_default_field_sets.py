"""The default field sets of client types; operators change them afterwards."""

from django.db import migrations

BANK = [
    ("bank_name", "Банк", "Bank", "text", False),
    ("bik", "БИК", "BIK", "bik", False),
    ("settlement_account", "Расчётный счёт", "Settlement account", "settlement_account", False),
    ("correspondent_account", "Корреспондентский счёт", "Correspondent account", "correspondent_account", False),
]
DEFAULTS = {
    "legal": [
        ("full_name", "Полное наименование", "Full legal name", "text", True),
        ("short_name", "Краткое наименование", "Short name", "text", False),
        ("inn", "ИНН", "INN", "inn", True),
        ("kpp", "КПП", "KPP", "kpp", False),
        ("ogrn", "ОГРН", "OGRN", "ogrn", False),
        ("legal_address", "Юридический адрес", "Legal address", "text", False),
        ("postal_address", "Почтовый адрес", "Postal address", "text", False),
        ("director", "Руководитель", "Director", "text", False),
        *BANK,
    ],
    "sole_proprietor": [
        ("full_name", "ФИО предпринимателя", "Full name", "text", True),
        ("inn", "ИНН", "INN", "inn", True),
        ("ogrnip", "ОГРНИП", "OGRNIP", "ogrnip", False),
        ("address", "Адрес", "Address", "text", False),
        *BANK,
    ],
    "individual": [
        ("full_name", "ФИО", "Full name", "text", True),
        ("birth_date", "Дата рождения", "Date of birth", "date", False),
        ("inn", "ИНН", "INN", "inn", False),
        ("address", "Адрес", "Address", "text", False),
        ("phone", "Телефон", "Phone", "phone", False),
    ],
}


def forwards(apps, schema_editor):
    Field = apps.get_model("clients", "ClientFieldDefinition")
    for client_type, rows in DEFAULTS.items():
        for position, (code, ru, en, kind, required) in enumerate(rows, start=1):
            Field.objects.get_or_create(
                client_type=client_type, code=code,
                defaults={"label_ru": ru, "label_en": en, "kind": kind, "required": required,
                          "position": position * 10},
            )


class Migration(migrations.Migration):
    dependencies = [("clients", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

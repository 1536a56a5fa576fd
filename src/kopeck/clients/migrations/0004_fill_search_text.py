from django.db import migrations


def forwards(apps, schema_editor):
    Client = apps.get_model("clients", "Client")
    for client in Client.objects.all().iterator():
        fields = client.fields or {}
        parts = [client.name, *(str(fields.get(k) or "") for k in ("full_name", "short_name"))]
        client.search_text = " | ".join(p.casefold() for p in parts if p)
        client.save(update_fields=["search_text"])


class Migration(migrations.Migration):
    dependencies = [("clients", "0003_search_text")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

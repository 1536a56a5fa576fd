"""The idempotency records moved here from the former ``kopeck.api`` app with their table
(``api_idempotencyrecord``): an installation that has the table keeps it and its rows; a new one
creates it."""

from django.db import migrations, models


def create_table_if_missing(apps, schema_editor):
    model = apps.get_model("common", "IdempotencyRecord")
    if model._meta.db_table not in schema_editor.connection.introspection.table_names():
        schema_editor.create_model(model)


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('principal', models.CharField(max_length=100, verbose_name='principal')),
                        ('key', models.CharField(max_length=255, verbose_name='key')),
                        ('method', models.CharField(max_length=10)),
                        ('path', models.CharField(max_length=500)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('status_code', models.PositiveSmallIntegerField()),
                        ('response_body', models.BinaryField()),
                        ('content_type', models.CharField(max_length=100)),
                        ('created_at', models.DateTimeField(db_index=True)),
                    ],
                    options={
                        'verbose_name': 'idempotency record',
                        'verbose_name_plural': 'idempotency records',
                        'db_table': 'api_idempotencyrecord',
                        'constraints': [models.UniqueConstraint(fields=('principal', 'key'), name='idempotency_unique_key')],
                    },
                ),
            ],
        ),
        migrations.RunPython(create_table_if_missing, migrations.RunPython.noop),
    ]

"""The daily scheduled billing run becomes the one scheduled biller: what it is (automatic, with
confirmation, none) and its time, which is no longer empty — an installation that had no time
billed through the hourly job, so it now bills through the daily run at 00:00."""

import datetime

from django.db import migrations, models


def _midnight_where_empty(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("configuration", "BillingSettings").objects.filter(auto_billing_time__isnull=True).update(
        auto_billing_time=datetime.time(0, 0))


class Migration(migrations.Migration):

    dependencies = [
        ("configuration", "0004_billing_run_report_to"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingsettings",
            name="scheduled_run",
            field=models.CharField(choices=[("auto", "Automatic: posts the charges and issues the documents"), ("confirm", "With confirmation: computes, then waits for an operator"), ("off", "None: billing runs are started by hand only")], default="auto", help_text="The one scheduled biller: what the billing run the scheduler starts every day is.", max_length=10, verbose_name="daily billing run"),
        ),
        migrations.RunPython(_midnight_where_empty, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="billingsettings",
            name="auto_billing_time",
            field=models.TimeField(default=datetime.time(0, 0), help_text="Provider-local time after which the daily billing run starts.", verbose_name="daily billing run time"),
        ),
    ]

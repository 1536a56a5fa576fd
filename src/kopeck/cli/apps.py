from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "kopeck.cli"
    label = "kopeck_cli"
    verbose_name = "Kopeck CLI"

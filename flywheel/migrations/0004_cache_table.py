"""The database cache table (sign-in throttling when no REDIS_URL is set)."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):  # type: ignore[no-untyped-def]
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("flywheel", "0003_releases_training_nightly")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]

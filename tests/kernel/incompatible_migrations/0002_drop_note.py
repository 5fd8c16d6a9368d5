"""Drops a column the release still running reads: not backwards compatible."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tracking", "0001_initial")]

    operations = [migrations.RemoveField(model_name="sample", name="note")]

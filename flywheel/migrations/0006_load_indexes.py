"""Indexes the load test's plans need (bench/load/explain.py prints them): a cluster's member page in order,
and trace times by id for the cluster list's weekly growth (index-only, no trace rows read)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flywheel", "0005_policy_min_overlap_items"),
    ]

    operations = [
        # The covering index first, so the trace list never goes without one.
        migrations.AddIndex(
            model_name="trace",
            index=models.Index(
                fields=["project", "-timestamp"], include=("id",), name="trace_project_time_id"
            ),
        ),
        migrations.RemoveIndex(
            model_name="trace",
            name="trace_project_time",
        ),
        migrations.AddIndex(
            model_name="failure",
            index=models.Index(
                condition=models.Q(("active", True)),
                fields=["project", "cluster", "duplicate_of", "-group_size", "-id"],
                name="failure_members",
            ),
        ),
    ]

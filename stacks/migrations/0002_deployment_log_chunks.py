"""A deployment's log becomes append-only chunks; each existing log moves into one chunk.

Backwards, each deployment's chunks are joined (in order) into the `log` column again.
"""
import django.db.models.deletion
from django.db import migrations, models

BATCH = 500


def logs_to_chunks(apps, schema_editor):
    Deployment = apps.get_model("stacks", "Deployment")
    Chunk = apps.get_model("stacks", "DeploymentLogChunk")
    rows = Deployment.objects.exclude(log="").values_list("pk", "log").order_by("pk")
    batch = []
    for pk, log in rows.iterator(chunk_size=BATCH):
        batch.append(Chunk(deployment_id=pk, start=0, end=len(log), text=log))
        if len(batch) == BATCH:
            Chunk.objects.bulk_create(batch)
            batch = []
    Chunk.objects.bulk_create(batch)


def chunks_to_logs(apps, schema_editor):
    Deployment = apps.get_model("stacks", "Deployment")
    Chunk = apps.get_model("stacks", "DeploymentLogChunk")
    chunks = Chunk.objects.order_by("deployment_id", "end").values_list("deployment_id", "text")
    current, parts = None, []
    for deployment_id, text in chunks.iterator(chunk_size=BATCH):
        if deployment_id != current and parts:
            Deployment.objects.filter(pk=current).update(log="".join(parts))
            parts = []
        current = deployment_id
        parts.append(text)
    if parts:
        Deployment.objects.filter(pk=current).update(log="".join(parts))


class Migration(migrations.Migration):

    dependencies = [
        ("stacks", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeploymentLogChunk",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("start", models.PositiveBigIntegerField()),
                ("end", models.PositiveBigIntegerField()),
                ("text", models.TextField()),
                ("deployment", models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="log_chunks",
                    db_index=False, to="stacks.deployment")),
            ],
            options={
                "ordering": ["deployment", "end"],
                "indexes": [models.Index(fields=["deployment", "end"], name="log_chunk_end")],
                "constraints": [
                    models.UniqueConstraint(fields=("deployment", "start"),
                                            name="one_log_chunk_per_start"),
                    models.CheckConstraint(condition=models.Q(end__gt=models.F("start")),
                                           name="log_chunk_not_empty"),
                ],
            },
        ),
        migrations.RunPython(logs_to_chunks, chunks_to_logs),
        migrations.RemoveField(model_name="deployment", name="log"),
    ]

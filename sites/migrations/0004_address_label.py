"""Sites get a readable, stable address label (sites/address.py). Existing sites keep
the one they were published under, their stack name, so their URLs do not change."""
from django.db import migrations, models
from django.db.models import F


def keep_current_addresses(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    Site.objects.filter(address_label__isnull=True).update(address_label=F("stack_name"))


class Migration(migrations.Migration):

    dependencies = [
        ("sites", "0003_host"),
    ]

    operations = [
        migrations.AddField(
            model_name="site",
            name="address_label",
            field=models.CharField(editable=False, max_length=63, null=True),
        ),
        migrations.RunPython(keep_current_addresses, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="site",
            name="address_label",
            field=models.CharField(editable=False, max_length=63, null=True, unique=True),
        ),
    ]

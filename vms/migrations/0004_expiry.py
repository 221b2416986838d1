# Issue #17: expiry (the lead renumbers this on merge).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('vms', '0003_host'),
    ]

    operations = [
        migrations.AddField(
            model_name='virtualmachine',
            name='expires_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='virtualmachine',
            name='expiry_reminded_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='virtualmachine',
            index=models.Index(condition=models.Q(('expires_at__isnull', False)), fields=['expires_at'], name='virtualmachine_expiry'),
        ),
    ]

# Issue #17: expiry (the lead renumbers this on merge).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sites', '0004_address_label'),
    ]

    operations = [
        migrations.AddField(
            model_name='site',
            name='expires_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='site',
            name='expiry_reminded_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='site',
            index=models.Index(condition=models.Q(('expires_at__isnull', False)), fields=['expires_at'], name='site_expiry'),
        ),
    ]

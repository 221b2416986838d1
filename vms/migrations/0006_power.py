# Issue #19: power controls and the first-boot script (the lead renumbers this on merge).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('vms', '0005_team'),
    ]

    operations = [
        migrations.AddField(
            model_name='virtualmachine',
            name='power',
            field=models.CharField(choices=[('running', 'Running'), ('stopped', 'Stopped')], default='running', max_length=10),
        ),
        migrations.AddField(
            model_name='virtualmachine',
            name='restarts',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='virtualmachine',
            name='user_data',
            field=models.TextField(blank=True, verbose_name='first-boot script'),
        ),
    ]

"""Drop DRF's authtoken table (rest_framework.authtoken left INSTALLED_APPS): it held every key
in plain text. Those keys stop working; their owners create new ones on /api/token/."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("api", "0001_api_tokens")]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop
        ),
    ]

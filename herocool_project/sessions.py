"""Django's database sessions, read with one plain SQL statement (issues #11, #13).

Every signed-in request reads its session; Django's store does it through the ORM
(`Session.objects.get(...)`), whose Python work was a tenth of a small page's. Same table,
same rows, same expiry rule: only the read is written out; writes stay Django's."""
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db import connections, router
from django.utils import timezone


class _Row:
    __slots__ = ("session_data",)

    def __init__(self, session_data):
        self.session_data = session_data


class SessionStore(DatabaseStore):
    def _get_session_from_db(self):
        connection = connections[router.db_for_read(self.model)]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT session_data FROM {self.model._meta.db_table} "
                           "WHERE session_key = %s AND expire_date > %s",
                           [self.session_key, now])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return _Row(row[0])

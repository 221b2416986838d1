"""Pages by key, not by offset: `?before=<time>,<id>` names the last row shown, and the
next page is the rows after it in (time, id) order, newest first. The database reads
only those rows (an index range scan from the key), however deep the page: no OFFSET
that walks every row before it, no COUNT of the whole list.

The time is written as whole microseconds since the epoch, so the key is exact; the id
breaks ties between rows with the same time, so no row is missed or shown twice.
"""
import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MICROSECOND = dt.timedelta(microseconds=1)


@dataclass
class KeysetPage:
    rows: list
    before: str  # the key this page started after ("" for the first page)
    next_before: str  # the key of the next page ("" when this is the last)

    @property
    def has_next(self):
        return bool(self.next_before)

    @property
    def is_first(self):
        return not self.before


def key_of(row, field):
    """The `before` key that starts the page after `row`."""
    return f"{(getattr(row, field) - EPOCH) // MICROSECOND},{row.pk}"


def parse_key(text):
    """(time, id) from a key, or None for a missing or malformed one."""
    try:
        micros, pk = (int(part) for part in (text or "").split(","))
        return EPOCH + micros * MICROSECOND, pk
    except (ValueError, OverflowError):
        return None


def after_key(queryset, field, key):
    """The rows of queryset strictly after `key` in (field, id) descending order. The
    redundant `field <= time` bounds the index scan; the OR breaks the tie."""
    when, pk = key
    return queryset.filter(Q(**{f"{field}__lte": when}),
                           Q(**{f"{field}__lt": when}) | Q(**{field: when, "pk__lt": pk}))


def newest_first(queryset, field):
    """queryset ordered by (field, id) descending: a total order, so pages by key."""
    return queryset.order_by(f"-{field}", "-pk")


def keyset_page(queryset, field, before="", per_page=50, read=list):
    """One page of queryset, newest first by (field, id), after the key `before` (a
    malformed key gives the first page). One query: per_page + 1 rows are read to know
    whether there is a next page. `read` turns the sliced queryset into the rows (each
    with `field` and `pk`): model instances by default."""
    key = parse_key(before)
    rows = newest_first(queryset, field)
    if key is not None:
        rows = after_key(rows, field, key)
    rows = list(read(rows[:per_page + 1]))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return KeysetPage(rows=rows, before=before if key is not None else "",
                      next_before=key_of(rows[-1], field) if more else "")


def page_from_request(request, queryset, field, per_page=50, read=list):
    return keyset_page(queryset, field, request.GET.get("before", ""), per_page, read)

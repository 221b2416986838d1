"""What a resource costs a month, before it is applied.

AWS figures come from stacks/prices.json (its source, date and assumptions are written
there); a region without figures has "no price". Local resources cost what the operator
prices their capacity at (HEROCOOL_LOCAL_PRICE_*, 0 by default). An estimate is a list of
lines (label, exact amount); its total is rounded to the cent.

Estimates depend only on (target, choice) and settings, so each is worked out once per
process and shared (frozen), until a setting changes (issues #11, #13: a list of 50 rows
paid 50 estimates).
"""
import functools
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connection

from .models import Status, resource_models

CENT = Decimal("0.01")
PRICES_FILE = Path(__file__).with_name("prices.json")


@functools.cache
def prices():
    return json.loads(PRICES_FILE.read_text(), parse_float=Decimal)


def assumption(name):
    return Decimal(prices()["assumptions"][name])


def aws_region_prices():
    """The figures for the configured region, or None when the table has none."""
    return prices()["aws"]["regions"].get(settings.AWS_REGION)


@dataclass(frozen=True)
class Line:
    label: str
    usd: Decimal


@dataclass(frozen=True)
class Estimate:
    """A monthly cost: its lines, or `unpriced` with the reason when there are no figures."""

    lines: tuple = ()
    unpriced: str = ""
    count: int = field(default=1)

    @functools.cached_property
    def total(self):
        return sum((line.usd for line in self.lines), Decimal(0)).quantize(
            CENT, rounding=ROUND_HALF_UP)

    @property
    def priced(self):
        return not self.unpriced

    def __str__(self):
        return usd(self.total) if self.priced else "no price"

    def as_json(self):
        return {"total": str(self.total), "priced": self.priced, "unpriced": self.unpriced,
                "lines": [[line.label, str(line.usd)] for line in self.lines]}


def usd(amount):
    return f"${Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP):,}"


def no_price(what):
    return Estimate(unpriced=f"No price figures for {what} in region "
                             f"{settings.AWS_REGION or '(none set)'}.")


def local_price(name):
    return Decimal(str(getattr(settings, name)))


# --- per kind of resource ------------------------------------------------------------

@functools.cache
def vm_estimate(target, instance_type):
    size = settings.VM_INSTANCE_TYPES.get(instance_type, {})
    if target == "local":
        gb = Decimal(size.get("local_memory_mb", 0)) / 1024
        return Estimate((
            Line(f"{gb.normalize()} GB of memory",
                 gb * local_price("HEROCOOL_LOCAL_PRICE_PER_GB_RAM_MONTH")),
            Line(f"{size.get('local_vcpus', 0)} vCPU",
                 size.get("local_vcpus", 0) * local_price("HEROCOOL_LOCAL_PRICE_PER_VCPU_MONTH")),
        ))
    region = aws_region_prices()
    if region is None or instance_type not in region["ec2_hourly"]:
        return no_price(instance_type)
    hours = assumption("hours_per_month")
    disk = assumption("vm_root_volume_gb")
    return Estimate((
        Line(f"{instance_type}, {hours} hours",
             Decimal(region["ec2_hourly"][instance_type]) * hours),
        Line(f"{disk} GB root volume (gp3)", Decimal(region["ebs_gp3_gb_month"]) * disk),
        Line("public IPv4 address", Decimal(region["public_ipv4_hourly"]) * hours),
    ))


@functools.cache
def site_estimate(target):
    if target == "local":
        return Estimate((Line("one site", local_price("HEROCOOL_LOCAL_PRICE_PER_SITE_MONTH")),))
    region = aws_region_prices()
    if region is None:
        return no_price("a site")
    out, requests = assumption("site_transfer_out_gb"), assumption("site_requests")
    misses = assumption("site_origin_get_requests")
    puts, stored = assumption("site_put_requests"), assumption("site_storage_gb")
    return Estimate((
        Line(f"{out} GB sent out by CloudFront",
             Decimal(region["cloudfront_transfer_out_gb"]) * out),
        Line(f"{requests:,} HTTPS requests",
             Decimal(region["cloudfront_https_per_10000"]) * requests / 10000),
        Line(f"{requests:,} folder-index function runs",
             Decimal(region["cloudfront_function_per_million"]) * requests / 1000000),
        Line(f"{misses:,} GETs from the bucket",
             Decimal(region["s3_get_per_1000"]) * misses / 1000),
        Line(f"{puts:,} PUT requests", Decimal(region["s3_put_per_1000"]) * puts / 1000),
        Line(f"{stored} GB stored", Decimal(region["s3_storage_gb_month"]) * stored),
    ))


# --- totals --------------------------------------------------------------------------

def owner_total(owner_id, *, excluding=None, team_id=None):
    """(total, unpriced count) of an owner's resources that are not deleted (a user's
    personal ones, or with `team_id` the team's), leaving out the resource `excluding`:
    one grouped query per kind, never one per row (plain SQL: the dashboard asks it on
    every view). Not one UNION ALL: at 10,000 resources PostgreSQL ran that as a parallel
    append whose workers cost more than the scans."""
    total, unpriced = Decimal(0), 0
    with connection.cursor() as cursor:
        for model in resource_models():
            sql, params = _grouped_sql(model, owner_id, excluding, team_id)
            cursor.execute(sql, params)
            for n, *values in cursor.fetchall():
                estimate = model(**dict(zip(model.cost_fields, values))).monthly_estimate()
                total += estimate.total * n
                unpriced += 0 if estimate.priced else n
    return total, unpriced


def _grouped_sql(model, owner_id, excluding, team_id=None):
    meta = model._meta
    columns = ", ".join(meta.get_field(name).column for name in model.cost_fields)
    team = meta.get_field("team").column
    if team_id is not None:
        whose, params = f"{team} = %s", [team_id, Status.DELETED]
    else:
        whose = f"{meta.get_field('owner').column} = %s AND {team} IS NULL"
        params = [owner_id, Status.DELETED]
    unless = ""
    if excluding is not None and isinstance(excluding, model):
        unless = f" AND {meta.pk.column} <> %s"
        params.append(excluding.pk)
    return (f"SELECT COUNT(*), {columns} FROM {meta.db_table} "
            f"WHERE {whose} "
            f"AND {meta.get_field('status').column} <> %s{unless} GROUP BY {columns}"), params


def estimates_json(model, target, choices):
    """{choice: estimate} for a form's script: what each choice of a field would cost."""
    return json.dumps({value: model.estimate_for(target, value).as_json()
                       for value in choices})


def _forget_estimates(**kwargs):
    vm_estimate.cache_clear()
    site_estimate.cache_clear()


setting_changed.connect(_forget_estimates)

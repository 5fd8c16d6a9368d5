"""Model rows read with plain SQL, for the few hot paths where building the ORM's
query costs more CPU than the query itself (every API request's user, checkout's
dishes, a payment locked to record its intent).

The instances are the ORM's own (``Model.from_db``, every concrete field loaded, the
backend's converters applied as the ORM applies them), so the code that uses them
cannot tell them apart from a queryset's. Only table and column names, all taken
from the models' metadata, and placeholders are interpolated into the SQL; values
always go as parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)

_readers: dict[tuple[type[Model], str, str], tuple[str, Callable[[Any], Any]]] = {}


def reader(model: type[M], alias: str) -> tuple[str, Callable[[Any], M]]:
    """``(select list, build)``: the model's concrete columns qualified by ``alias``,
    and what makes an instance from a row's slice of them. Made once per model,
    alias and database vendor."""
    key = (model, alias, connection.vendor)
    found = _readers.get(key)
    if found is None:
        found = _readers[key] = _make_reader(model, alias)
    return found


def _make_reader(model: type[M], alias: str) -> tuple[str, Callable[[Any], M]]:
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    select = ", ".join(f'"{alias}"."{field.column}"' for field in fields)
    converters = []
    for position, field in enumerate(fields):
        col = field.get_col(alias)
        found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if found:
            converters.append((position, col, found))

    def build(values) -> M:
        if converters:
            values = list(values)
            for position, col, found in converters:
                for convert in found:
                    values[position] = convert(values[position], col, connection)
        return model.from_db(connection.alias, names, values)

    return select, build


def get_by_pk(model: type[M], pk: Any, *, for_update: bool = False) -> M:
    """The row of ``model`` with primary key ``pk`` (locked ``FOR UPDATE`` if asked,
    inside the caller's transaction); ``model.DoesNotExist`` when there is none."""
    select, build = reader(model, "t")
    meta = model._meta
    sql = f'SELECT {select} FROM "{meta.db_table}" AS "t" WHERE "t"."{meta.pk.column}" = %s'  # noqa: S608
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(meta.pk.to_python(pk), connection)])
        row = cursor.fetchone()
    if row is None:
        raise model.DoesNotExist(f"{meta.object_name} matching query does not exist.")
    return build(row)

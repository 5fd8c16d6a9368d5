"""Model rows read and written with plain SQL, for the few hot paths where building
the ORM's query costs more CPU than the query itself (every API request's user, and
a checkout's reads and writes: its dishes, the order, lines and timeline row, the
payment and its audit row, the outbox).

Read instances are the ORM's own (``Model.from_db``, every concrete field loaded,
the backend's converters applied as the ORM applies them), so the code that uses
them cannot tell them apart from a queryset's. :func:`insert` and :func:`update`
write what ``Model.save`` would (``pre_save`` runs, so ``auto_now`` fields are set;
each value prepared by its field) in one statement, and count as one query as the
ORM's do. They send no ``pre_save``/``post_save`` signals: a model that has
receivers or a ``save`` of its own, a value that is an expression, or a database
other than PostgreSQL goes through the ORM instead. Only table and column names, all taken from the models'
metadata, and placeholders are interpolated into the SQL; values always go as
parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

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


def _plain(model: type[Model]) -> bool:
    """Whether :func:`insert` and :func:`update` may write ``model`` themselves."""
    return connection.vendor == "postgresql" and not (
        pre_save.has_listeners(model)
        or post_save.has_listeners(model)
        or model._meta.parents
        or model.save is not Model.save
    )


def _values(obj: Model, fields, *, add: bool) -> list | None:
    """Each field's value as ``save`` would write it; None if one is an expression."""
    values = []
    for field in fields:
        value = field.pre_save(obj, add)
        if hasattr(value, "resolve_expression"):
            return None
        values.append(field.get_db_prep_save(value, connection))
    return values


def insert(*objs: Model) -> None:
    """Insert new instances of one model in one statement, as ``objs[0].save()`` (one)
    or ``bulk_create`` (several) would: an auto primary key is filled in from the
    database, and each instance is then saved (``_state.adding`` false). A unique
    violation raises ``IntegrityError`` (and marks the enclosing atomic block for
    rollback, as ``save`` does)."""
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    auto = meta.auto_field if meta.auto_field is not None and objs[0].pk is None else None
    fields = [field for field in meta.concrete_fields if not field.generated and field is not auto]
    rows = [_values(obj, fields, add=True) for obj in objs] if _plain(model) else [None]
    if any(row is None for row in rows) or any(type(obj) is not model or (auto and obj.pk) for obj in objs):
        if len(objs) == 1:
            objs[0].save(force_insert=True)
        else:
            model._default_manager.bulk_create(objs)
        return
    one = f"({', '.join(['%s'] * len(fields))})"
    columns = ", ".join(f'"{field.column}"' for field in fields)
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {", ".join([one] * len(objs))}'  # noqa: S608
    if auto is not None:
        sql += f' RETURNING "{auto.column}"'
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        returned = cursor.fetchall() if auto is not None else None
    for position, obj in enumerate(objs):
        if returned is not None:
            setattr(obj, auto.attname, returned[position][0])
        obj._state.adding = False
        obj._state.db = connection.alias


def update(obj: Model, fields: list[str] | None = None) -> None:
    """Write a loaded instance back as ``obj.save()`` (every field) or
    ``obj.save(update_fields=fields)`` would, in one ``UPDATE`` by primary key. The row
    must exist (callers hold it locked): no insert is tried."""
    meta = type(obj)._meta
    chosen = [
        field
        for field in meta.concrete_fields
        if not field.primary_key
        and not field.generated
        and (fields is None or field.name in fields or field.attname in fields)
    ]
    values = _values(obj, chosen, add=False) if _plain(type(obj)) else None
    if values is None:
        obj.save(update_fields=fields)
        return
    assignments = ", ".join(f'"{field.column}" = %s' for field in chosen)
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.pk.column}" = %s'  # noqa: S608
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(sql, [*values, meta.pk.get_db_prep_value(obj.pk, connection)])

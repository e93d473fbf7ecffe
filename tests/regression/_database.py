"""The one database stand-in of the regression tests: an in-memory ``prisma_client``.

No real database client can run here: the proxy's Prisma client needs a PostgreSQL server and a query
engine binary fetched at generate time, and ``prisma`` is not even installed with every pin. So the
tests replace only what sits under LiteLLM's query code:

- :class:`PrismaClientStandIn` is what LiteLLM sees as ``prisma_client``. Its query methods
  (``get_data``, ``update_data``, ``delete_data``, ``tx``, ``writer_db``, ``hash_token``, ...) are
  LiteLLM's own ``PrismaClient`` methods and properties, run on
  this object; any other method is an ``AttributeError``, so a test that reaches unmodelled client code
  fails loudly instead of passing on a guess.
- ``prisma_client.db.<table>`` is a :class:`Table` with Prisma's semantics for the calls the tests reach
  (``create``, ``create_many``, ``upsert``, ``update``, ``update_many``, ``find_unique``, ``find_first``,
  ``find_many``, ``count``, ``delete``, ``delete_many``). Its columns, defaults, unique keys, Json columns and relations
  are read from the installed LiteLLM's own ``schema.prisma``, so every pin gets the tables it really has.
  A method, filter, argument or relation not modelled here raises, and is recorded as a harness fault
  (``_support.harness_fault``): the proxy turns the exception into an HTTP 500, and a test failing on that
  500 must count as a broken harness, not as the defect it looks for.

Rows come back as Prisma's generated client returns them: pydantic models (attributes, ``model_dump()``,
``model_copy()``) with Json columns decoded and relation fields ``None`` unless included.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import operator
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from _support import harness_fault
from pydantic import BaseModel, ConfigDict


class UniqueViolationError(Exception):
    """``prisma.errors.UniqueViolationError``."""


class RecordNotFoundError(Exception):
    """``prisma.errors.RecordNotFoundError``."""


class MissingRequiredValueError(Exception):
    """Prisma's ``Argument `x` is missing`` validation error."""


class Record(BaseModel):
    """A row as Prisma returns it (a pydantic model of the table's fields)."""

    model_config = ConfigDict(extra="allow")


# --------------------------------------------------------------------------------------------------
# The schema, from the installed litellm's schema.prisma
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    is_list: bool
    optional: bool
    default: str | None  # the text inside @default(...)
    unique: bool
    updated_at: bool
    relation_fields: tuple[str, ...] = ()  # a relation field: its foreign key columns here ...
    relation_references: tuple[str, ...] = ()  # ... and the columns they reference there

    def default_value(self) -> Any:
        if self.updated_at or self.default == "now()":
            return datetime.now(timezone.utc)
        if self.default in {"uuid()", "cuid()"}:
            return str(uuid.uuid4())
        if self.default is None or self.default.endswith(")"):  # autoincrement(), dbgenerated(...)
            if self.optional:
                return None
            if self.is_list:
                return []
            raise MissingRequiredValueError(f"Argument `{self.name}` is missing.")
        try:
            value = json.loads(self.default)
        except json.JSONDecodeError:
            return self.default  # an enum value
        return json.loads(value) if self.type == "Json" and isinstance(value, str) else value


@dataclass
class Model:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    relations: dict[str, Column] = field(default_factory=dict)
    compound: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Compound unique keys (``@@id([a, b])``, ``@@unique([a, b])``) by Prisma's name for them, ``a_b``."""

    @property
    def unique(self) -> set[str]:
        return {c.name for c in self.columns.values() if c.unique}


_MODEL = re.compile(r"^model\s+(\w+)\s*\{(.*?)^\}", re.MULTILINE | re.DOTALL)
_FIELD = re.compile(r"^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$")


def _attribute_argument(text: str, attribute: str) -> str | None:
    """The text inside ``@attribute(...)``, with nested parentheses."""
    start = text.find(f"@{attribute}(")
    if start < 0:
        return None
    depth, begin = 0, start + len(attribute) + 1
    for index in range(begin, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[begin + 1 : index]
    raise ValueError(f"unbalanced @{attribute}(...) in {text!r}")


def _names(text: str, key: str) -> tuple[str, ...]:
    found = re.search(rf"{key}:\s*\[([^\]]*)\]", text)
    return tuple(n.strip() for n in found.group(1).split(",")) if found else ()


@functools.cache
def schema() -> dict[str, Model]:
    """Every model of the installed litellm's ``litellm/proxy/schema.prisma``, by Prisma client name."""
    spec = importlib.util.find_spec("litellm")
    assert spec is not None
    assert spec.origin is not None
    text = (Path(spec.origin).parent / "proxy" / "schema.prisma").read_text(encoding="utf-8")
    blocks = _MODEL.findall(text)
    model_names = {name for name, _ in blocks}
    models: dict[str, Model] = {}
    for name, body in blocks:
        model = Model(name)
        for raw in body.splitlines():
            line = raw.split("//", 1)[0].strip()
            compound = re.match(r"^@@(?:id|unique)\(\[([^\]]*)\]", line)
            if compound is not None:
                names = tuple(n.strip() for n in compound.group(1).split(","))
                model.compound["_".join(names)] = names
                continue
            matched = _FIELD.match(line)
            if matched is None:  # empty, or another block attribute (@@index, @@map ...)
                continue
            column_name, type_name, is_list, optional, attributes = matched.groups()
            column = Column(
                name=column_name,
                type=type_name,
                is_list=bool(is_list),
                optional=bool(optional),
                default=_attribute_argument(attributes, "default"),
                unique="@id" in attributes or "@unique" in attributes,
                updated_at="@updatedAt" in attributes,
                relation_fields=_names(attributes, "fields"),
                relation_references=_names(attributes, "references"),
            )
            if type_name in model_names:
                model.relations[column_name] = column
            else:  # a scalar or an enum
                model.columns[column_name] = column
        models[name.lower()] = model
    return models


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------

# A filter on a NULL column matches nothing, as in SQL, except equality with None (IS NULL).
_FILTERS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": operator.eq,
    "not": lambda value, wanted: value is not None and (wanted is None or value != wanted),
    "in": lambda value, wanted: value is not None and value in wanted,
    "not_in": lambda value, wanted: value is not None and value not in wanted,
    "has": lambda value, wanted: value is not None and wanted in value,
    "lt": lambda value, wanted: value is not None and value < wanted,
    "lte": lambda value, wanted: value is not None and value <= wanted,
    "gt": lambda value, wanted: value is not None and value > wanted,
    "gte": lambda value, wanted: value is not None and value >= wanted,
}


class Table:
    """``prisma_client.db.<table>``: the rows of one model, held in memory."""

    def __init__(self, model: Model, db: Database) -> None:
        self.model = model
        self.rows: list[dict[str, Any]] = []
        self._db = db

    # -- for the tests' own set-up and checks (not Prisma API) -------------------------------------

    def add(self, **data: Any) -> Record:
        """Insert a row, exactly as ``create(data=...)`` does."""
        return self._record(self._insert(data), None)

    def row(self, **where: Any) -> dict[str, Any] | None:
        """The one stored row matching ``where`` (or None), as it is in the table."""
        found = [row for row in self.rows if self._matches(row, where)]
        assert len(found) <= 1, found
        return found[0] if found else None

    # -- Prisma's query API -------------------------------------------------------------------------

    async def create(self, data: dict[str, Any], include: dict[str, bool] | None = None) -> Record:
        return self._record(self._insert(data), include)

    async def create_many(self, data: list[dict[str, Any]], skip_duplicates: bool = False) -> int:
        """Insert every row; with ``skip_duplicates`` a row violating a unique column is left out (Prisma's
        ``ON CONFLICT DO NOTHING``), else the first violation fails the whole call. Returns the count."""
        staged = list(self.rows)
        created = 0
        try:
            for one in data:
                try:
                    self._insert(one)
                    created += 1
                except UniqueViolationError:
                    if not skip_duplicates:
                        raise
        except Exception:
            self.rows[:] = staged
            raise
        return created

    async def find_unique(self, where: dict[str, Any], include: dict[str, bool] | None = None) -> Record | None:
        row = self.row(**self._unique_where(where))
        return None if row is None else self._record(row, include)

    async def find_first(
        self,
        where: dict[str, Any] | None = None,
        include: dict[str, bool] | None = None,
        order: Any = None,
        skip: int | None = None,
    ) -> Record | None:
        found = await self.find_many(where=where, include=include, order=order, skip=skip, take=1)
        return found[0] if found else None

    async def find_many(
        self,
        where: dict[str, Any] | None = None,
        include: dict[str, bool] | None = None,
        order: Any = None,
        take: int | None = None,
        skip: int | None = None,
    ) -> list[Record]:
        rows = [row for row in self.rows if self._matches(row, where or {})]
        for key, direction in reversed(self._order(order)):
            # PostgreSQL's default: NULLs last ascending, first descending
            rows.sort(key=lambda row, key=key: (row[key] is None, row[key]), reverse=direction == "desc")
        rows = rows[skip or 0 :]
        if take is not None:
            rows = rows[:take]
        return [self._record(row, include) for row in rows]

    async def delete(self, where: dict[str, Any], include: dict[str, bool] | None = None) -> Record:
        row = self.row(**self._unique_where(where))
        if row is None:
            raise RecordNotFoundError(
                "An operation failed because it depends on one or more records that were required but not found. Record to delete does not exist."
            )
        self.rows.remove(row)
        return self._record(row, include)

    async def upsert(
        self, where: dict[str, Any], data: dict[str, dict[str, Any]], include: dict[str, bool] | None = None
    ) -> Record:
        """Update the row ``where`` names with ``data["update"]``, or insert ``data["create"]`` if there is none."""
        flat = self._unique_where(where)
        if set(data) != {"create", "update"}:
            raise NotImplementedError(harness_fault(f"{self.model.name}.upsert: data needs 'create' and 'update'"))
        row = self.row(**flat)
        if row is None:
            return self._record(self._insert(data["create"]), include)
        return self._record(self._update(row, data["update"]), include)

    async def update(
        self, where: dict[str, Any], data: dict[str, Any], include: dict[str, bool] | None = None
    ) -> Record | None:
        """Update the row ``where`` names; ``None`` if there is none (prisma-client-py's ``update``)."""
        row = self.row(**self._unique_where(where))
        return None if row is None else self._record(self._update(row, data), include)

    async def update_many(self, where: dict[str, Any], data: dict[str, Any]) -> int:
        rows = [row for row in self.rows if self._matches(row, where)]
        for row in rows:
            self._update(row, data)
        return len(rows)

    async def count(self, where: dict[str, Any] | None = None) -> int:
        return sum(1 for row in self.rows if self._matches(row, where or {}))

    async def delete_many(self, where: dict[str, Any] | None = None) -> int:
        doomed = [row for row in self.rows if self._matches(row, where or {})]
        self.rows[:] = [row for row in self.rows if all(row is not gone for gone in doomed)]
        return len(doomed)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(harness_fault(f"the database stand-in does not model {self.model.name}.{name}()"))

    # -- Prisma's semantics -------------------------------------------------------------------------

    def _insert(self, data: dict[str, Any]) -> dict[str, Any]:
        unknown = set(data) - set(self.model.columns)
        if unknown:
            raise NotImplementedError(
                harness_fault(f"{self.model.name}: unknown argument(s) {sorted(unknown)} (relations are not modelled)")
            )
        row = {}
        for column in self.model.columns.values():
            value = data[column.name] if column.name in data else column.default_value()
            if column.type == "Json" and isinstance(value, str):
                value = json.loads(value)  # Prisma takes Json columns as JSON text, returns them decoded
            row[column.name] = value
        for name in self.model.unique:
            # NULLs never collide in a unique column (PostgreSQL's rule)
            if row[name] is not None and any(other[name] == row[name] for other in self.rows):
                raise UniqueViolationError(f"Unique constraint failed on the fields: (`{name}`)")
        self.rows.append(row)
        return row

    # Prisma's atomic number operations on an update's column
    _ATOMIC: dict[str, Callable[[Any, Any], Any]] = {  # noqa: RUF012 - a constant table
        "set": lambda _old, new: new,
        "increment": operator.add,
        "decrement": operator.sub,
        "multiply": operator.mul,
        "divide": operator.truediv,
    }

    def _update(self, row: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        unknown = set(data) - set(self.model.columns)
        if unknown:
            raise NotImplementedError(
                harness_fault(f"{self.model.name}: cannot update {sorted(unknown)} (relations are not modelled)")
            )
        changes = {}
        for name, value in data.items():
            column = self.model.columns[name]
            if column.type == "Json":
                changes[name] = json.loads(value) if isinstance(value, str) else value
            elif isinstance(value, dict):
                (operation, operand), *rest = value.items()
                if rest or operation not in self._ATOMIC:
                    raise NotImplementedError(
                        harness_fault(f"{self.model.name}.{name}: update {value!r} is not modelled")
                    )
                changes[name] = self._ATOMIC[operation](row[name], operand)
            else:
                changes[name] = value
        for name in self.model.unique & set(changes):
            if changes[name] is not None and any(
                other is not row and other[name] == changes[name] for other in self.rows
            ):
                raise UniqueViolationError(f"Unique constraint failed on the fields: (`{name}`)")
        changes.update(
            {
                c.name: datetime.now(timezone.utc)
                for c in self.model.columns.values()
                if c.updated_at and c.name not in data
            }
        )
        row.update(changes)
        return row

    def _check_columns(self, names: Any) -> None:
        unknown = set(names) - set(self.model.columns) - {"AND", "OR", "NOT"}
        if unknown:
            raise NotImplementedError(
                harness_fault(f"{self.model.name}: no column(s) {sorted(unknown)} (relations are not modelled)")
            )

    def _unique_where(self, where: dict[str, Any]) -> dict[str, Any]:
        """``where`` of a unique query as column filters: one unique column, or one compound key
        (``{"user_id_team_id": {"user_id": ..., "team_id": ...}}``)."""
        if len(where) == 1:
            ((name, value),) = where.items()
            names = self.model.compound.get(name)
            if names is not None and isinstance(value, dict) and set(value) == set(names):
                return dict(value)
        self._check_unique(where)
        return where

    def _check_unique(self, where: dict[str, Any]) -> None:
        if len(where) != 1 or not set(where) <= self.model.unique:
            raise ValueError(
                harness_fault(
                    f"{self.model.name}: a unique query needs exactly one of {sorted(self.model.unique)}, got {where}"
                )
            )

    def _matches(self, row: dict[str, Any], where: dict[str, Any]) -> bool:
        self._check_columns(where)
        for key, condition in where.items():
            if key in {"AND", "OR", "NOT"}:
                parts = condition if isinstance(condition, list) else [condition]
                results = [self._matches(row, part) for part in parts]
                if not {"AND": all, "OR": any, "NOT": lambda r: not any(r)}[key](results):
                    return False
            elif isinstance(condition, dict):
                for name, wanted in condition.items():
                    if name not in _FILTERS:
                        raise NotImplementedError(
                            harness_fault(f"{self.model.name}.{key}: filter {name!r} is not modelled")
                        )
                    if not _FILTERS[name](row[key], wanted):
                        return False
            elif row[key] != condition:
                return False
        return True

    def _order(self, order: Any) -> list[tuple[str, str]]:
        items = [] if order is None else order if isinstance(order, list) else [order]
        pairs = [pair for item in items for pair in item.items()]
        self._check_columns(name for name, _ in pairs)
        return pairs

    def _record(self, row: dict[str, Any], include: dict[str, bool] | None) -> Record:
        values = copy.deepcopy(row)
        values.update(dict.fromkeys(self.model.relations))
        for name, wanted in (include or {}).items():
            relation = self.model.relations.get(name)
            if relation is not None and relation.is_list and not relation.relation_fields:
                if wanted:
                    values[name] = self._related_rows(row, relation)
                continue
            if relation is None or not relation.relation_fields:
                raise NotImplementedError(harness_fault(f"{self.model.name}: include of {name!r} is not modelled"))
            if wanted:
                keys = [row[column] for column in relation.relation_fields]
                related = self._db.table(relation.type)
                where = dict(zip(relation.relation_references, keys, strict=True))
                values[name] = None if None in keys else related.row(**where)
                if values[name] is not None:
                    values[name] = related._record(values[name], None)
        return Record(**values)

    def _related_rows(self, row: dict[str, Any], relation: Column) -> list[Record]:
        """A one-to-many relation (``memberships Membership[]``): the related rows whose foreign key, declared on
        their side (``@relation(fields: [...], references: [...])`` back to this model), points at ``row``."""
        related = self._db.table(relation.type)
        back = [c for c in related.model.relations.values() if c.type == self.model.name and c.relation_fields]
        if len(back) != 1:
            raise NotImplementedError(harness_fault(f"{self.model.name}: include of {relation.name!r} is not modelled"))
        pairs = list(zip(back[0].relation_fields, back[0].relation_references, strict=True))
        return [
            related._record(other, None)
            for other in related.rows
            if all(other[mine] is not None and other[mine] == row[theirs] for mine, theirs in pairs)
        ]


class Database:
    """``prisma_client.db``: a :class:`Table` for every model of the schema, made on first use."""

    def __init__(self) -> None:
        self._tables: dict[str, Table] = {}

    def table(self, model_name: str) -> Table:
        key = model_name.lower()
        if key not in self._tables:
            models = schema()
            if key not in models:
                raise AttributeError(harness_fault(f"schema.prisma has no model {model_name!r}"))
            self._tables[key] = Table(models[key], self)
        return self._tables[key]

    # The one raw query modelled: the proxy's auth-object prefetch (litellm/proxy/auth/auth_object_prefetch.py,
    # from 1.102), a single SELECT of five sub-selects, each one table's row by its key (or NULL), with the
    # related lists it adds. Any other SQL is a harness fault.
    _PREFETCH_ROWS = (
        ("user_row", "LiteLLM_UserTable", (("user_id", 0),)),
        ("team_row", "LiteLLM_TeamTable", (("team_id", 1),)),
        ("membership_row", "LiteLLM_TeamMembership", (("user_id", 2), ("team_id", 1))),
        ("organization_row", "LiteLLM_OrganizationTable", (("organization_id", 3),)),
        ("project_row", "LiteLLM_ProjectTable", (("project_id", 4),)),
    )

    async def query_first(self, query: str, *args: Any) -> dict[str, Any] | None:
        """``db.query_first`` for the auth-object prefetch: each ``*_row`` is the stored row or None."""
        if not all(f"AS {name}" in query for name, _, _ in self._PREFETCH_ROWS):
            raise NotImplementedError(harness_fault(f"query_first of unmodelled SQL: {query.strip()[:80]!r}"))
        result: dict[str, Any] = {}
        for name, model, keys in self._PREFETCH_ROWS:
            where = {column: args[index] if index < len(args) else None for column, index in keys}
            row = None
            if all(value is not None for value in where.values()):
                found = [r for r in self.table(model).rows if all(r.get(k) == v for k, v in where.items())]
                row = copy.deepcopy(found[0]) if found else None
            if row is not None and name == "user_row":
                memberships = self.table("LiteLLM_OrganizationMembership").rows
                row["organization_memberships"] = [
                    copy.deepcopy(m) for m in memberships if m.get("user_id") == row.get("user_id")
                ]
            result[name] = row
        return result

    # Row locks taken inside a transaction (``SELECT 1 AS locked FROM "T" WHERE c = ANY($1::text[]) ... FOR
    # UPDATE``, litellm/proxy/utils.py in 1.110.2): one row per locked row; one process holds no competing lock.
    _ROW_LOCK = re.compile(
        r'^SELECT 1 AS locked FROM "(?P<table>\w+)" WHERE (?P<column>\w+) = ANY\(\$1::text\[\]\) .*FOR UPDATE$'
    )

    # The access-group key list kept in step with a key's writes (access_group_key_sync.py in 1.110.2):
    # attach a key to groups, detach it, repoint a regenerated key's old hash to its new one. Each is
    # ``UPDATE "LiteLLM_AccessGroupTable" SET "assigned_key_ids" = <expression> WHERE ... RETURNING
    # "access_group_id"``, told apart by the expression.
    _ACCESS_GROUP_KEYS = 'UPDATE "LiteLLM_AccessGroupTable" SET "assigned_key_ids" = '

    def _access_group_keys(self, expression: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self.table("LiteLLM_AccessGroupTable").rows
        changed = []
        for row in rows:
            keys = list(row.get("assigned_key_ids") or [])
            if expression.startswith('array_append("assigned_key_ids", $1)'):  # attach $1 to groups $2
                if row["access_group_id"] not in args[1] or args[0] in keys:
                    continue
                keys.append(args[0])
            elif expression.startswith('array_remove("assigned_key_ids", $1)'):  # detach $1 from groups $2
                if row["access_group_id"] not in args[1] or args[0] not in keys:
                    continue
                keys = [k for k in keys if k != args[0]]
            elif expression.startswith('array_append(array_remove(array_remove("assigned_key_ids", $1), $2), $2)'):
                if args[0] not in keys:  # repoint $1 to $2
                    continue
                keys = [k for k in keys if k not in (args[0], args[1])] + [args[1]]
            else:
                raise NotImplementedError(harness_fault(f"access-group key update not modelled: {expression[:60]!r}"))
            row["assigned_key_ids"] = keys
            changed.append({"access_group_id": row["access_group_id"]})
        return changed

    async def query_raw(self, query: str, *args: Any) -> list[dict[str, Any]]:
        """``db.query_raw`` for the row locks of a transaction and the access groups' key lists; any other
        SQL is a harness fault."""
        text = query.strip()
        if text.startswith(self._ACCESS_GROUP_KEYS):
            return self._access_group_keys(text.removeprefix(self._ACCESS_GROUP_KEYS), args)
        lock = self._ROW_LOCK.match(text)
        if lock is None or len(args) != 1:
            raise NotImplementedError(harness_fault(f"query_raw of unmodelled SQL: {text[:80]!r}"))
        table = self.table(lock["table"])
        wanted = set(args[0])
        return [{"locked": 1} for row in table.rows if row.get(lock["column"]) in wanted]

    # A column rewritten from one value to another across a table (``UPDATE "T" SET "c" = $2 WHERE "c" = $1``:
    # a regenerated key's owned managed resources, managed_resource_owner_sync.py in 1.110.2).
    _REWRITE = re.compile(r'^UPDATE "(?P<table>\w+)" SET "(?P<column>\w+)" = \$2 WHERE "(?P=column)" = \$1$')

    async def execute_raw(self, query: str, *args: Any) -> int:
        """``db.execute_raw`` for a column rewrite; returns the count of rows changed. Any other SQL is a
        harness fault."""
        rewrite = self._REWRITE.match(query.strip())
        if rewrite is None or len(args) != 2:
            raise NotImplementedError(harness_fault(f"execute_raw of unmodelled SQL: {query.strip()[:80]!r}"))
        rows = [row for row in self.table(rewrite["table"]).rows if row.get(rewrite["column"]) == args[0]]
        for row in rows:
            row[rewrite["column"]] = args[1]
        return len(rows)

    def tx(self, max_wait: Any = None, timeout: Any = None) -> Any:
        """``db.tx()``: an interactive transaction; its statements run on this database, and an exception
        inside it rolls every table back to where the transaction began."""
        database = self

        class _Transaction:
            async def __aenter__(self) -> Database:
                self.saved = {name: copy.deepcopy(table.rows) for name, table in database._tables.items()}
                return database

            async def __aexit__(self, kind: object, error: object, trace: object) -> None:
                if kind is not None:
                    for name, table in database._tables.items():
                        table.rows[:] = self.saved.get(name, [])

        return _Transaction()

    def __getattr__(self, name: str) -> Table:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.table(name)


class PrismaClientStandIn:
    """What LiteLLM sees as ``prisma_client``: ``.db`` is in memory, the query methods are LiteLLM's own."""

    LITELLM_QUERY_METHODS = (
        "get_data",
        "update_data",
        "delete_data",
        "tx",
        "writer_db",  # properties: the database itself, as without a read replica
        "read_db",
        "hash_token",
        "jsonify_object",
    )

    def __init__(self) -> None:
        self.db = Database()
        self.proxy_logging_obj = None

    def __getattr__(self, name: str) -> Any:
        if name not in self.LITELLM_QUERY_METHODS:
            raise AttributeError(harness_fault(f"the PrismaClient stand-in does not model {name!r}"))
        from litellm.proxy.utils import PrismaClient

        return getattr(PrismaClient, name).__get__(self)

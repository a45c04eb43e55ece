"""The intake's writes, as the database driver takes them (see `write_request`).

A callback request is three writes: the lead (an upsert on the partial unique
index "one open lead per phone"), the request row with its consent evidence,
and the timeline events.  They are the busiest writes of the product, so they
go to the driver's cursor as written: SQLAlchemy's way to a statement
(compiled cache look-up, execution context, result object) cost about 0.05 ms
of each request on SQLite, and on PostgreSQL, with the BEGIN and COMMIT round
trips that autocommit saves, about 0.3 ms of the client's CPU (measured in
process, of 0.9 and 1.2 ms).  The values are still converted by the columns' own
types (`bind_processor`), exactly as SQLAlchemy converts them, and the
driver's errors are raised as SQLAlchemy's (IntegrityError, OperationalError),
so a database that cannot be written still sends the request to the spool.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg

from leads.db_setup import writer_line
from leads.extensions import db
from leads.models import OPEN_STATES_SQL, Lead, LeadEvent, LeadRequest

LEAD_COLUMNS = (
    "public_id", "name", "phone", "state", "source", "comment", "preferred_start", "preferred_end", "page_url",
    "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "request_count",
    "created_at", "last_request_at", "next_call_at", "sla_due_at", "attempts", "reached", "sla_breached", "excluded",
    "arrival_day", "arrival_hour",
)  # fmt: skip
REQUEST_COLUMNS = tuple(c.name for c in LeadRequest.__table__.c if c.name not in ("id", "lead_id"))
EVENT_COLUMNS = ("lead_id", "at", "kind", "detail")


def write_request(lead_values: dict[str, Any], request_row: dict[str, Any], event_detail: str, created: datetime) -> None:
    """Write and commit one request, on a pooled connection of its own (not the session's)."""
    if db.engine.dialect.name == "postgresql":
        with _DriverConnection(db.engine) as connection:
            _write_in_one_statement(connection, lead_values, request_row, event_detail)
        return
    with writer_line.turn(db.engine), _DriverConnection(db.engine) as connection:
        _write_in_three_statements(connection, lead_values, request_row, event_detail, created)


class _DriverWrite:
    """One statement in the driver's own parameter style, and the types that convert its values."""

    def __init__(self, sql: str, types: Mapping[str, sa.types.TypeEngine]) -> None:
        self.sql = sql
        self.types = types
        self._processors: dict[str, dict[str, Callable[[Any], Any]]] = {}  # by dialect name

    def params(self, dialect: sa.Dialect, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` as the driver takes them: each converted by its column's type on `dialect`."""
        processors = self._processors.get(dialect.name)
        if processors is None:
            # The dialect's own type: SQLite's DATETIME writes its own text format.
            found = {name: type_.dialect_impl(dialect).bind_processor(dialect) for name, type_ in self.types.items()}
            processors = self._processors[dialect.name] = {name: p for name, p in found.items() if p is not None}
        return {name: processors[name](value) if name in processors else value for name, value in values.items()}


class _DriverConnection:
    """A driver connection from the engine's pool for one write, committed if it succeeds.

    On PostgreSQL it runs in autocommit: the intake is one statement, atomic
    by itself, so there is no BEGIN and no COMMIT to wait for.  Errors are
    raised as SQLAlchemy's; whatever happens, the connection goes back to the
    pool as it came (transaction ended, autocommit off).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.dialect = engine.dialect
        self._error = engine.dialect.loaded_dbapi.Error
        self._pooled = engine.raw_connection()
        self._autocommit = self.dialect.name == "postgresql"
        if self._autocommit:
            try:
                with self._as_sqlalchemy_error("(autocommit on)", None):
                    self._pooled.driver_connection.autocommit = True
            except BaseException:
                self._pooled.close()
                raise

    def __enter__(self) -> _DriverConnection:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        try:
            if exc_type is None and not self._autocommit:
                with self._as_sqlalchemy_error("COMMIT", None):
                    self._pooled.commit()
        finally:
            try:
                if self._autocommit:
                    self._pooled.driver_connection.autocommit = False
            except self._error:  # a connection lost on the way: not given back as it is
                self._pooled.invalidate()
            self._pooled.close()  # back to the pool, which rolls back anything left open

    def run(self, write: _DriverWrite, params: dict[str, Any] | list[dict[str, Any]]) -> list[tuple]:
        """Execute `write` with converted `params` (or once per mapping of a list); its rows, if any."""
        cursor = self._pooled.cursor()
        try:
            with self._as_sqlalchemy_error(write.sql, params):
                if isinstance(params, list):
                    cursor.executemany(write.sql, params)
                    return []
                cursor.execute(write.sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    @contextmanager
    def _as_sqlalchemy_error(self, statement: str, params: Any) -> Iterator[None]:
        try:
            yield
        except self._error as error:
            raise sa.exc.DBAPIError.instance(statement, params, error, self._error, hide_parameters=True) from error


def _write_in_three_statements(
    connection: _DriverConnection,
    lead_values: dict[str, Any],
    request_row: dict[str, Any],
    event_detail: str,
    created: datetime,
) -> None:
    """SQLite: the upsert, the request row and the timeline events, back to back.

    The values are converted before the first write: from it to the commit
    the request holds SQLite's one write lock.
    """
    lead_params = _UPSERT_LEAD.params(connection.dialect, lead_values)
    request_params = _INSERT_REQUEST.params(connection.dialect, request_row)
    event = _INSERT_EVENT.params(connection.dialect, {"at": created, "kind": "created", "detail": event_detail})
    [(lead_id, request_count, on_do_not_call)] = connection.run(_UPSERT_LEAD, lead_params)
    connection.run(_INSERT_REQUEST, {**request_params, "lead_id": lead_id})
    events = [{**event, "lead_id": lead_id, "kind": "repeat_request" if request_count > 1 else "created"}]
    if on_do_not_call:
        # The number once asked not to be called; the card shows it and the
        # operator decides (anyone can type someone else's number).
        events.append({**events[0], "kind": "on_do_not_call_list", "detail": ""})
    connection.run(_INSERT_EVENT, events)


def _write_in_one_statement(
    connection: _DriverConnection, lead_values: dict[str, Any], request_row: dict[str, Any], event_detail: str
) -> None:
    """PostgreSQL: the same three writes as one statement (data-modifying CTEs), one round trip."""
    values = {**lead_values, **{f"r_{key}": value for key, value in request_row.items()}, "event_detail": event_detail}
    connection.run(_STORE_ALL_PG, _STORE_ALL_PG.params(connection.dialect, values))


def _column_types(table: sa.Table, columns: tuple[str, ...], prefix: str = "") -> dict[str, sa.types.TypeEngine]:
    return {prefix + column: table.c[column].type for column in columns}


def _insert_sql(table: sa.Table, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(f':{c}' for c in columns)})"


def _upsert_lead_sql() -> str:
    """INSERT … ON CONFLICT on the open-lead index, the same SQL on both databases.

    Written as text because SQLAlchemy 2.0 cannot cache its SQLite
    on_conflict construct: compiling it anew cost 1.6 ms of every request.
    A repeat request raises the lead's priority: a retry waiting for later
    becomes due now; an agreed callback time is kept.
    """
    columns = ", ".join(LEAD_COLUMNS)
    values = ", ".join(f":{column}" for column in LEAD_COLUMNS)
    return f"""
        INSERT INTO leads ({columns}) VALUES ({values})
        ON CONFLICT (phone) WHERE {OPEN_STATES_SQL}
        DO UPDATE SET request_count = leads.request_count + 1,
                      last_request_at = :created_at,
                      next_call_at = CASE
                          WHEN leads.state IN ('new', 'retry') AND leads.next_call_at > :created_at
                          THEN :created_at ELSE leads.next_call_at END
        RETURNING id, request_count,
                  EXISTS (SELECT 1 FROM do_not_call
                          WHERE do_not_call.phone IN (:phone, :do_not_call_key)) AS on_do_not_call
    """


def _store_all_pg_sql() -> str:
    """The upsert, the request row and the timeline events in one PostgreSQL statement (`%(name)s` style)."""
    requests = ", ".join(REQUEST_COLUMNS)
    request_values = ", ".join(f":r_{column}" for column in REQUEST_COLUMNS)
    sql = f"""
        WITH lead AS ({_upsert_lead_sql()}),
        request AS (
            INSERT INTO lead_requests (lead_id, {requests}) SELECT lead.id, {request_values} FROM lead
        ),
        events AS (
            INSERT INTO lead_events (lead_id, at, kind, detail)
            SELECT lead.id, :created_at,
                   CASE WHEN lead.request_count > 1 THEN 'repeat_request' ELSE 'created' END, :event_detail
            FROM lead
            UNION ALL
            SELECT lead.id, :created_at, 'on_do_not_call_list', '' FROM lead WHERE lead.on_do_not_call
        )
        SELECT id FROM lead
    """
    # Typed parameters, so that the server is told each one's type (psycopg sends them apart from the SQL).
    typed = [sa.bindparam(name, type_=type_) for name, type_ in _PG_TYPES.items()]
    typed += [sa.bindparam(name, type_=sa.String()) for name in ("do_not_call_key", "event_detail")]
    return str(sa.text(sql).bindparams(*typed).compile(dialect=psycopg.dialect()))


_UPSERT_LEAD = _DriverWrite(_upsert_lead_sql(), _column_types(Lead.__table__, LEAD_COLUMNS))
_INSERT_REQUEST = _DriverWrite(
    _insert_sql(LeadRequest.__table__, ("lead_id", *REQUEST_COLUMNS)),
    _column_types(LeadRequest.__table__, REQUEST_COLUMNS),
)
_INSERT_EVENT = _DriverWrite(_insert_sql(LeadEvent.__table__, EVENT_COLUMNS), _column_types(LeadEvent.__table__, ("at",)))
_PG_TYPES = {
    **_column_types(Lead.__table__, LEAD_COLUMNS),
    **_column_types(LeadRequest.__table__, REQUEST_COLUMNS, prefix="r_"),
}
_STORE_ALL_PG = _DriverWrite(_store_all_pg_sql(), _PG_TYPES)

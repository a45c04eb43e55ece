"""Triggers that tell the report's stored cells which days changed.

Every write that can change a figure of the manager's report — a lead inserted, deleted,
or updated in a column the report reads; a call attempt or an appointment written or
deleted; a closure, which changes the business minutes to the first call of the leads
that arrived before it and were called after it — appends the arrival time of each lead
concerned to `report_dirty`.  The report
counts those days again before it reads the cells (leads/services/report_cells.py).
Triggers, not service code, so that no writer (a service, a bulk job, a hand-run SQL
statement) can forget; an append-only table, so that a trigger never waits for a report
and a change committed while a report is being counted is still seen by the next one.
"""
from __future__ import annotations

import sqlalchemy as sa

# The lead columns the report reads (leads/services/report_sql.py).
REPORT_COLUMNS = (
    "created_at", "state", "request_count", "attempts", "reached", "excluded", "close_reason",
    "first_attempt_at", "source", "utm_source", "utm_campaign",
)
CALL_COLUMNS = ("lead_id", "operator_id", "outcome", "reached")
APPOINTMENT_COLUMNS = ("lead_id", "status")


# The leads whose time to the first call may include closure day {d}: arrived before it ended,
# first called after it began.  A day either side covers every zone's local day in UTC.
CLOSURE_LEADS = {
    "sqlite": "SELECT created_at FROM leads WHERE created_at < datetime({d}, '+2 days') "
              "AND first_attempt_at >= datetime({d}, '-1 days')",
    "postgresql": "SELECT created_at FROM leads WHERE created_at < {d} + 2 AND first_attempt_at >= {d} - 1",
}


def _sqlite() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in REPORT_COLUMNS)
    lead_of = "INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = {}.lead_id;"
    statements = [
        "CREATE TRIGGER IF NOT EXISTS trg_leads_report_write AFTER INSERT ON leads BEGIN "
        "INSERT INTO report_dirty (created_at) VALUES (NEW.created_at); END",
        "CREATE TRIGGER IF NOT EXISTS trg_leads_report_delete AFTER DELETE ON leads BEGIN "
        "INSERT INTO report_dirty (created_at) VALUES (OLD.created_at); END",
        f"CREATE TRIGGER IF NOT EXISTS trg_leads_report_update AFTER UPDATE OF {', '.join(REPORT_COLUMNS)} "
        f"ON leads WHEN {changed} BEGIN "
        "INSERT INTO report_dirty (created_at) VALUES (OLD.created_at); "
        "INSERT INTO report_dirty (created_at) SELECT NEW.created_at WHERE NEW.created_at IS NOT OLD.created_at; "
        "END",
    ]
    for table, columns in (("appointments", APPOINTMENT_COLUMNS), ("call_attempts", CALL_COLUMNS)):
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS trg_{table}_report_insert AFTER INSERT ON {table} BEGIN "
            f"{lead_of.format('NEW')} END",
            f"CREATE TRIGGER IF NOT EXISTS trg_{table}_report_delete AFTER DELETE ON {table} BEGIN "
            f"{lead_of.format('OLD')} END",
            f"CREATE TRIGGER IF NOT EXISTS trg_{table}_report_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} BEGIN {lead_of.format('OLD')} {lead_of.format('NEW')} END",
        ]
    closure_leads = "INSERT INTO report_dirty (created_at) " + CLOSURE_LEADS["sqlite"] + ";"
    statements += [
        "CREATE TRIGGER IF NOT EXISTS trg_closures_report_insert AFTER INSERT ON closures BEGIN "
        f"{closure_leads.format(d='NEW.day')} END",
        "CREATE TRIGGER IF NOT EXISTS trg_closures_report_delete AFTER DELETE ON closures BEGIN "
        f"{closure_leads.format(d='OLD.day')} END",
        "CREATE TRIGGER IF NOT EXISTS trg_closures_report_update AFTER UPDATE OF day ON closures BEGIN "
        f"{closure_leads.format(d='OLD.day')} {closure_leads.format(d='NEW.day')} END",
    ]
    return statements


def _postgresql() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in REPORT_COLUMNS)
    return [
        """CREATE OR REPLACE FUNCTION report_dirty_lead() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO report_dirty (created_at) VALUES (OLD.created_at);
            END IF;
            IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.created_at IS DISTINCT FROM OLD.created_at) THEN
                INSERT INTO report_dirty (created_at) VALUES (NEW.created_at);
            END IF;
            RETURN NULL;
        END $$""",
        """CREATE OR REPLACE FUNCTION report_dirty_lead_of_row() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = OLD.lead_id;
            END IF;
            IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
                INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = NEW.lead_id;
            END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION report_dirty_closure() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO report_dirty (created_at) {CLOSURE_LEADS["postgresql"].format(d="OLD.day")};
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO report_dirty (created_at) {CLOSURE_LEADS["postgresql"].format(d="NEW.day")};
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE OR REPLACE TRIGGER trg_closures_report AFTER INSERT OR DELETE OR UPDATE OF day ON closures "
        "FOR EACH ROW EXECUTE FUNCTION report_dirty_closure()",
        "CREATE OR REPLACE TRIGGER trg_leads_report_write AFTER INSERT OR DELETE ON leads "
        "FOR EACH ROW EXECUTE FUNCTION report_dirty_lead()",
        f"CREATE OR REPLACE TRIGGER trg_leads_report_update AFTER UPDATE OF {', '.join(REPORT_COLUMNS)} ON leads "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION report_dirty_lead()",
        f"CREATE OR REPLACE TRIGGER trg_appointments_report AFTER INSERT OR DELETE OR UPDATE OF "
        f"{', '.join(APPOINTMENT_COLUMNS)} ON appointments FOR EACH ROW EXECUTE FUNCTION report_dirty_lead_of_row()",
        f"CREATE OR REPLACE TRIGGER trg_call_attempts_report AFTER INSERT OR DELETE OR UPDATE OF "
        f"{', '.join(CALL_COLUMNS)} ON call_attempts FOR EACH ROW EXECUTE FUNCTION report_dirty_lead_of_row()",
    ]


def create_statements(dialect: str) -> list[str]:
    """The statements that create (or replace) the triggers on `dialect`; idempotent."""
    return _postgresql() if dialect == "postgresql" else _sqlite()


def drop_statements(dialect: str) -> list[str]:
    """The statements that drop the triggers (and PostgreSQL's trigger functions)."""
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS trg_leads_report_write ON leads",
            "DROP TRIGGER IF EXISTS trg_leads_report_update ON leads",
            "DROP TRIGGER IF EXISTS trg_appointments_report ON appointments",
            "DROP TRIGGER IF EXISTS trg_call_attempts_report ON call_attempts",
            "DROP TRIGGER IF EXISTS trg_closures_report ON closures",
            "DROP FUNCTION IF EXISTS report_dirty_lead()",
            "DROP FUNCTION IF EXISTS report_dirty_lead_of_row()",
            "DROP FUNCTION IF EXISTS report_dirty_closure()",
        ]
    names = ["trg_leads_report_write", "trg_leads_report_delete", "trg_leads_report_update"]
    names += [f"trg_{t}_report_{op}" for t in ("appointments", "call_attempts", "closures")
              for op in ("insert", "delete", "update")]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


def create(connection: sa.Connection) -> None:
    """Create the triggers through `connection` (after the tables exist)."""
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def attach(metadata: sa.MetaData) -> None:
    """Create the triggers whenever `metadata.create_all` runs (tests, benchmarks)."""
    sa.event.listen(metadata, "after_create", lambda target, connection, **kw: create(connection))

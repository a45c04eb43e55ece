"""Report cells: closures mark the days of the leads whose business minutes they change

Revision ID: 5c1e7a9d2b40
Revises: 83acaa51baa9
Create Date: 2026-11-23 23:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c1e7a9d2b40'
down_revision = '83acaa51baa9'
branch_labels = None
depends_on = None

# The closure triggers of leads/report_triggers.py as of this revision (a migration is a snapshot).
TRIGGERS = {
    'sqlite': [
        "CREATE TRIGGER IF NOT EXISTS trg_closures_report_insert AFTER INSERT ON closures BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE created_at < datetime(NEW.day, '+2 days') AND first_attempt_at >= datetime(NEW.day, '-1 days'); END",
        "CREATE TRIGGER IF NOT EXISTS trg_closures_report_delete AFTER DELETE ON closures BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE created_at < datetime(OLD.day, '+2 days') AND first_attempt_at >= datetime(OLD.day, '-1 days'); END",
        "CREATE TRIGGER IF NOT EXISTS trg_closures_report_update AFTER UPDATE OF day ON closures BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE created_at < datetime(OLD.day, '+2 days') AND first_attempt_at >= datetime(OLD.day, '-1 days'); INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE created_at < datetime(NEW.day, '+2 days') AND first_attempt_at >= datetime(NEW.day, '-1 days'); END",
    ],
    'postgresql': [
        """CREATE OR REPLACE FUNCTION report_dirty_closure() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE created_at < OLD.day + 2 AND first_attempt_at >= OLD.day - 1;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE created_at < NEW.day + 2 AND first_attempt_at >= NEW.day - 1;
            END IF;
            RETURN NULL;
        END $$""",
        'CREATE OR REPLACE TRIGGER trg_closures_report AFTER INSERT OR DELETE OR UPDATE OF day ON closures FOR EACH ROW EXECUTE FUNCTION report_dirty_closure()',
    ],
}
DROP_TRIGGERS = {
    'sqlite': [
        'DROP TRIGGER IF EXISTS trg_closures_report_insert',
        'DROP TRIGGER IF EXISTS trg_closures_report_delete',
        'DROP TRIGGER IF EXISTS trg_closures_report_update',
    ],
    'postgresql': [
        'DROP TRIGGER IF EXISTS trg_closures_report ON closures',
        'DROP FUNCTION IF EXISTS report_dirty_closure()',
    ],
}


def upgrade():
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)

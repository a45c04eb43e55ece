"""Report cells: stored per-day aggregates and the triggers that mark changed days

Revision ID: 83acaa51baa9
Revises: 4ad5a451e5ff
Create Date: 2026-11-23 22:32:42.397060

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '83acaa51baa9'
down_revision = '4ad5a451e5ff'
branch_labels = None
depends_on = None

# The triggers of leads/report_triggers.py as of this revision (a migration is a snapshot).
TRIGGERS = {
    'sqlite': [
        'CREATE TRIGGER IF NOT EXISTS trg_leads_report_write AFTER INSERT ON leads BEGIN INSERT INTO report_dirty (created_at) VALUES (NEW.created_at); END',
        'CREATE TRIGGER IF NOT EXISTS trg_leads_report_delete AFTER DELETE ON leads BEGIN INSERT INTO report_dirty (created_at) VALUES (OLD.created_at); END',
        'CREATE TRIGGER IF NOT EXISTS trg_leads_report_update AFTER UPDATE OF created_at, state, request_count, attempts, reached, excluded, close_reason, first_attempt_at, source, utm_source, utm_campaign ON leads WHEN OLD.created_at IS NOT NEW.created_at OR OLD.state IS NOT NEW.state OR OLD.request_count IS NOT NEW.request_count OR OLD.attempts IS NOT NEW.attempts OR OLD.reached IS NOT NEW.reached OR OLD.excluded IS NOT NEW.excluded OR OLD.close_reason IS NOT NEW.close_reason OR OLD.first_attempt_at IS NOT NEW.first_attempt_at OR OLD.source IS NOT NEW.source OR OLD.utm_source IS NOT NEW.utm_source OR OLD.utm_campaign IS NOT NEW.utm_campaign BEGIN INSERT INTO report_dirty (created_at) VALUES (OLD.created_at); INSERT INTO report_dirty (created_at) SELECT NEW.created_at WHERE NEW.created_at IS NOT OLD.created_at; END',
        'CREATE TRIGGER IF NOT EXISTS trg_appointments_report_insert AFTER INSERT ON appointments BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = NEW.lead_id; END',
        'CREATE TRIGGER IF NOT EXISTS trg_appointments_report_delete AFTER DELETE ON appointments BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = OLD.lead_id; END',
        'CREATE TRIGGER IF NOT EXISTS trg_appointments_report_update AFTER UPDATE OF lead_id, status ON appointments BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = OLD.lead_id; INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = NEW.lead_id; END',
        'CREATE TRIGGER IF NOT EXISTS trg_call_attempts_report_insert AFTER INSERT ON call_attempts BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = NEW.lead_id; END',
        'CREATE TRIGGER IF NOT EXISTS trg_call_attempts_report_delete AFTER DELETE ON call_attempts BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = OLD.lead_id; END',
        'CREATE TRIGGER IF NOT EXISTS trg_call_attempts_report_update AFTER UPDATE OF lead_id, operator_id, outcome, reached ON call_attempts BEGIN INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = OLD.lead_id; INSERT INTO report_dirty (created_at) SELECT created_at FROM leads WHERE id = NEW.lead_id; END',
    ],
    'postgresql': [
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
        'CREATE OR REPLACE TRIGGER trg_leads_report_write AFTER INSERT OR DELETE ON leads FOR EACH ROW EXECUTE FUNCTION report_dirty_lead()',
        'CREATE OR REPLACE TRIGGER trg_leads_report_update AFTER UPDATE OF created_at, state, request_count, attempts, reached, excluded, close_reason, first_attempt_at, source, utm_source, utm_campaign ON leads FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.state IS DISTINCT FROM NEW.state OR OLD.request_count IS DISTINCT FROM NEW.request_count OR OLD.attempts IS DISTINCT FROM NEW.attempts OR OLD.reached IS DISTINCT FROM NEW.reached OR OLD.excluded IS DISTINCT FROM NEW.excluded OR OLD.close_reason IS DISTINCT FROM NEW.close_reason OR OLD.first_attempt_at IS DISTINCT FROM NEW.first_attempt_at OR OLD.source IS DISTINCT FROM NEW.source OR OLD.utm_source IS DISTINCT FROM NEW.utm_source OR OLD.utm_campaign IS DISTINCT FROM NEW.utm_campaign) EXECUTE FUNCTION report_dirty_lead()',
        'CREATE OR REPLACE TRIGGER trg_appointments_report AFTER INSERT OR DELETE OR UPDATE OF lead_id, status ON appointments FOR EACH ROW EXECUTE FUNCTION report_dirty_lead_of_row()',
        'CREATE OR REPLACE TRIGGER trg_call_attempts_report AFTER INSERT OR DELETE OR UPDATE OF lead_id, operator_id, outcome, reached ON call_attempts FOR EACH ROW EXECUTE FUNCTION report_dirty_lead_of_row()',
    ],
}
DROP_TRIGGERS = {
    'sqlite': [
        'DROP TRIGGER IF EXISTS trg_leads_report_write',
        'DROP TRIGGER IF EXISTS trg_leads_report_delete',
        'DROP TRIGGER IF EXISTS trg_leads_report_update',
        'DROP TRIGGER IF EXISTS trg_appointments_report_insert',
        'DROP TRIGGER IF EXISTS trg_appointments_report_delete',
        'DROP TRIGGER IF EXISTS trg_appointments_report_update',
        'DROP TRIGGER IF EXISTS trg_call_attempts_report_insert',
        'DROP TRIGGER IF EXISTS trg_call_attempts_report_delete',
        'DROP TRIGGER IF EXISTS trg_call_attempts_report_update',
    ],
    'postgresql': [
        'DROP TRIGGER IF EXISTS trg_leads_report_write ON leads',
        'DROP TRIGGER IF EXISTS trg_leads_report_update ON leads',
        'DROP TRIGGER IF EXISTS trg_appointments_report ON appointments',
        'DROP TRIGGER IF EXISTS trg_call_attempts_report ON call_attempts',
        'DROP FUNCTION IF EXISTS report_dirty_lead()',
        'DROP FUNCTION IF EXISTS report_dirty_lead_of_row()',
    ],
}


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('report_cells',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('hour', sa.SmallInteger(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=True),
    sa.Column('utm_source', sa.String(length=100), nullable=True),
    sa.Column('utm_campaign', sa.String(length=100), nullable=True),
    sa.Column('bucket', sa.SmallInteger(), nullable=True),
    sa.Column('bm', sa.Integer(), nullable=True),
    sa.Column('leads', sa.Integer(), nullable=True),
    sa.Column('requests', sa.Integer(), nullable=True),
    sa.Column('reached', sa.Integer(), nullable=True),
    sa.Column('booked', sa.Integer(), nullable=True),
    sa.Column('attended', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=True),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('calls', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_cells'))
    )
    with op.batch_alter_table('report_cells', schema=None) as batch_op:
        batch_op.create_index('ix_report_cells_day_kind', ['day', 'kind'], unique=False)

    op.create_table('report_dirty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_dirty'))
    )
    op.create_table('report_sealed_days',
    sa.Column('day', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('calendar_key', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_report_sealed_days'))
    )
    # ### end Alembic commands ###
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


def downgrade():
    for statement in DROP_TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_table('report_sealed_days')
    op.drop_table('report_dirty')
    with op.batch_alter_table('report_cells', schema=None) as batch_op:
        batch_op.drop_index('ix_report_cells_day_kind')

    op.drop_table('report_cells')
    # ### end Alembic commands ###

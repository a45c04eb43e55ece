"""Report figures stored when they happen: a visit booked or attended on the lead, its arrival date on each call

The manager's report counted booked and attended leads by grouping every
appointment of the range's leads and joining them to the leads, in two of its
queries, and read the calls of the range by joining them to every lead of it.
Each lead now carries both visit figures, set when a visit is booked and when
one is marked attended, and each call its lead's arrival date, set when the
call is recorded (leads/services/report_facts.py); filled in here from the
rows already stored.  ix_leads_left_out finds the few leads every report
leaves out (spam, test leads), whose calls the report subtracts.

Revision ID: e1d5a7c30b92
Revises: 4c6eb5981adb
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1d5a7c30b92'
down_revision = '4c6eb5981adb'
branch_labels = None
depends_on = None

LEFT_OUT_SQL = "(excluded OR close_reason = 'spam')"  # as leads.models has it


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_booked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('visit_attended', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrival_day', sa.Date(), nullable=True))
    op.create_index('ix_leads_left_out', 'leads', ['arrival_day', 'id'], unique=False,
                    sqlite_where=sa.text(LEFT_OUT_SQL), postgresql_where=sa.text(LEFT_OUT_SQL))

    leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('visit_booked', sa.Boolean),
                     sa.column('visit_attended', sa.Boolean), sa.column('arrival_day', sa.Date))
    calls = sa.table('call_attempts', sa.column('lead_id', sa.Integer), sa.column('arrival_day', sa.Date))
    arrival = sa.select(leads.c.arrival_day).where(leads.c.id == calls.c.lead_id).scalar_subquery()
    op.execute(calls.update().values(arrival_day=arrival))
    op.create_index('ix_call_attempts_arrival_day', 'call_attempts', ['arrival_day'], unique=False)
    appointments = sa.table('appointments', sa.column('lead_id', sa.Integer), sa.column('status', sa.String))
    visits = sa.select(appointments.c.lead_id).where(appointments.c.lead_id == leads.c.id)
    op.execute(leads.update().where(visits.exists()).values(visit_booked=True))
    op.execute(leads.update().where(visits.where(appointments.c.status == 'attended').exists())
               .values(visit_attended=True))


def downgrade():
    op.drop_index('ix_call_attempts_arrival_day', table_name='call_attempts')
    op.drop_index('ix_leads_left_out', table_name='leads', sqlite_where=sa.text(LEFT_OUT_SQL),
                  postgresql_where=sa.text(LEFT_OUT_SQL))
    with op.batch_alter_table('call_attempts', schema=None) as batch_op:
        batch_op.drop_column('arrival_day')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('visit_attended')
        batch_op.drop_column('visit_booked')

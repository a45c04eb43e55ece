"""Report figures stored when they happen: a visit booked or attended on the lead; on each call its lead's arrival date and its own clinic date

The manager's report counted booked and attended leads by grouping every
appointment of the range's leads and joining them to the leads, in two of its
queries, and read the calls of the range by joining them to every lead of it.
Each lead now carries both visit figures, set when a visit is booked and when
one is marked attended, and each call its lead's arrival date, set when the
call is recorded (leads/services/report_facts.py); filled in here from the
rows already stored.  ix_leads_left_out finds the few leads every report
leaves out (spam, test leads), whose calls the report subtracts.

The report by activity date read every call of the period into Python to
find its clinic date (a year: 3 million rows, 45 s); each call now stores that
date (`day`) and the report groups by it.

Revision ID: e1d5a7c30b92
Revises: 4c6eb5981adb
Create Date: 2026-12-02 12:00:00

"""
import os
from datetime import timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e1d5a7c30b92'
down_revision = '4c6eb5981adb'
branch_labels = None
depends_on = None

LEFT_OUT_SQL = "(excluded OR close_reason = 'spam')"  # as leads.models has it
BACKFILL_BATCH = 5000


def _clinic_zone():
    try:
        from flask import current_app
        return current_app.config['CLINIC_TIMEZONE']
    except RuntimeError:  # alembic run outside the app
        return os.environ.get('CLINIC_TIMEZONE', 'Europe/Moscow')


def _backfill_call_days(connection, calls):
    """Each call's clinic-local date, from its instant (stored as naive UTC)."""
    zone = _clinic_zone()
    if connection.dialect.name == 'postgresql':
        connection.execute(sa.text("UPDATE call_attempts SET day = CAST(timezone(:zone, timezone('UTC', at)) AS date)"),
                           {'zone': zone})
        return
    from zoneinfo import ZoneInfo

    tz, last_id = ZoneInfo(zone), 0
    while True:
        rows = connection.execute(sa.select(calls.c.id, calls.c.at).where(calls.c.id > last_id)
                                  .order_by(calls.c.id).limit(BACKFILL_BATCH)).all()
        if not rows:
            return
        connection.execute(calls.update().where(calls.c.id == sa.bindparam('call_id')).values(day=sa.bindparam('local')),
                           [{'call_id': i, 'local': at.replace(tzinfo=timezone.utc).astimezone(tz).date()}
                            for i, at in rows])
        last_id = rows[-1][0]


def upgrade():
    # Plain ALTER TABLE, not batch mode: SQLite adds these columns in place, and recreating
    # `leads` fails while other tables' foreign keys refer to it.
    op.add_column('leads', sa.Column('visit_booked', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('leads', sa.Column('visit_attended', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('call_attempts', sa.Column('arrival_day', sa.Date(), nullable=True))
    op.add_column('call_attempts', sa.Column('day', sa.Date(), nullable=True))
    op.create_index('ix_leads_left_out', 'leads', ['arrival_day', 'id'], unique=False,
                    sqlite_where=sa.text(LEFT_OUT_SQL), postgresql_where=sa.text(LEFT_OUT_SQL))

    leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('visit_booked', sa.Boolean),
                     sa.column('visit_attended', sa.Boolean), sa.column('arrival_day', sa.Date))
    calls = sa.table('call_attempts', sa.column('id', sa.Integer), sa.column('lead_id', sa.Integer),
                     sa.column('at', sa.DateTime), sa.column('arrival_day', sa.Date), sa.column('day', sa.Date))
    arrival = sa.select(leads.c.arrival_day).where(leads.c.id == calls.c.lead_id).scalar_subquery()
    op.execute(calls.update().values(arrival_day=arrival))
    _backfill_call_days(op.get_bind(), calls)
    op.create_index('ix_call_attempts_arrival_day', 'call_attempts', ['arrival_day'], unique=False)
    op.create_index('ix_call_attempts_day', 'call_attempts', ['day'], unique=False)
    appointments = sa.table('appointments', sa.column('lead_id', sa.Integer), sa.column('status', sa.String))
    visits = sa.select(appointments.c.lead_id).where(appointments.c.lead_id == leads.c.id)
    op.execute(leads.update().where(visits.exists()).values(visit_booked=True))
    op.execute(leads.update().where(visits.where(appointments.c.status == 'attended').exists())
               .values(visit_attended=True))


def downgrade():
    op.drop_index('ix_call_attempts_day', table_name='call_attempts')
    op.drop_index('ix_call_attempts_arrival_day', table_name='call_attempts')
    op.drop_index('ix_leads_left_out', table_name='leads', sqlite_where=sa.text(LEFT_OUT_SQL),
                  postgresql_where=sa.text(LEFT_OUT_SQL))
    for table, column in (('call_attempts', 'day'), ('call_attempts', 'arrival_day'), ('leads', 'visit_attended'),
                          ('leads', 'visit_booked')):
        op.drop_column(table, column)

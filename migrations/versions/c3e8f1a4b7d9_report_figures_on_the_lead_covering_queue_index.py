"""A simpler house: report figures stored on the lead, one covering queue index

The report's stored cells (report_cells, report_sealed_days, report_dirty and
the triggers of 83acaa51baa9 and 5c1e7a9d2b40) go; each lead carries its
clinic-local arrival date and hour and the business minutes to its first call,
filled in here for the leads already stored (leads/services/report_facts.py
keeps them from now on).

The queue's index ix_leads_state_next_call_at becomes ix_leads_queue: (state,
next_call_at) followed by the columns its tiers and counters read, so the open
leads are read from the index alone; the lead an operator holds is found
through a plain index of the claim's holder.

Revision ID: c3e8f1a4b7d9
Revises: 6b5c4ee0c284
Create Date: 2026-12-02 00:55:00

"""
import importlib.util
import os
from datetime import timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e8f1a4b7d9'
down_revision = '6b5c4ee0c284'
branch_labels = None
depends_on = None

QUEUE_COLUMNS = ['state', 'next_call_at', 'created_at', 'request_count', 'callback_owner_id', 'claimed_by_id',
                 'claim_expires_at', 'sla_due_at', 'attempts']
BACKFILL_BATCH = 5000
REPORT_TABLES = ('report_cells', 'report_sealed_days', 'report_dirty')


def _revision(name):
    """An earlier revision's module (its trigger statements, to drop or bring them back)."""
    path = next(Path(__file__).parent.glob(f'{name}_*.py'))
    spec = importlib.util.spec_from_file_location(f'revision_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _clinic_calendar(connection):
    """The clinic calendar with its closures, as the app configures it."""
    from leads.domain.calendar import make_calendar

    try:
        from flask import current_app
        zone = current_app.config['CLINIC_TIMEZONE']
    except RuntimeError:  # alembic run outside the app
        zone = os.environ.get('CLINIC_TIMEZONE', 'Europe/Moscow')
    closures = sa.table('closures', sa.column('day', sa.Date))
    return make_calendar(zone, closures=connection.execute(sa.select(closures.c.day)).scalars().all())


def _backfill(connection):
    calendar = _clinic_calendar(connection)
    leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('created_at', sa.DateTime),
                     sa.column('first_attempt_at', sa.DateTime), sa.column('arrival_day', sa.Date),
                     sa.column('arrival_hour', sa.SmallInteger), sa.column('first_call_minutes', sa.Float))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(leads.c.id, leads.c.created_at, leads.c.first_attempt_at)
            .where(leads.c.id > last_id).order_by(leads.c.id).limit(BACKFILL_BATCH)
        ).all()
        if not rows:
            return
        values = []
        for lead_id, created, first in rows:
            created = created.replace(tzinfo=timezone.utc)  # stored as naive UTC
            first = first.replace(tzinfo=timezone.utc) if first else None
            local = calendar.local(created)
            minutes = round(calendar.business_minutes(created, first), 2) if first else None
            values.append({'lead_id': lead_id, 'day': local.date(), 'hour': local.hour, 'minutes': minutes})
        connection.execute(
            leads.update().where(leads.c.id == sa.bindparam('lead_id'))
            .values(arrival_day=sa.bindparam('day'), arrival_hour=sa.bindparam('hour'),
                    first_call_minutes=sa.bindparam('minutes')),
            values,
        )
        last_id = rows[-1][0]


def upgrade():
    dialect = op.get_bind().dialect.name
    for name in ('5c1e7a9d2b40', '83acaa51baa9'):
        for statement in _revision(name).DROP_TRIGGERS[dialect]:
            op.execute(statement)
    for table in REPORT_TABLES:
        op.drop_table(table)
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_state_next_call_at')
        batch_op.create_index('ix_leads_queue', QUEUE_COLUMNS, unique=False)
        batch_op.create_index('ix_leads_claimed_by_id', ['claimed_by_id'], unique=False)
        batch_op.add_column(sa.Column('arrival_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('arrival_hour', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('first_call_minutes', sa.Float(), nullable=True))
        batch_op.create_index('ix_leads_arrival_day', ['arrival_day'], unique=False)
    _backfill(op.get_bind())


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_arrival_day')
        batch_op.drop_column('first_call_minutes')
        batch_op.drop_column('arrival_hour')
        batch_op.drop_column('arrival_day')
        batch_op.drop_index('ix_leads_claimed_by_id')
        batch_op.drop_index('ix_leads_queue')
        batch_op.create_index('ix_leads_state_next_call_at', ['state', 'next_call_at'], unique=False)
    # The report cells come back empty, as 83acaa51baa9 and 5c1e7a9d2b40 made them.
    _revision('83acaa51baa9').upgrade()
    _revision('5c1e7a9d2b40').upgrade()

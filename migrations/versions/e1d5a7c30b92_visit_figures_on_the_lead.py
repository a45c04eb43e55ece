"""Visit figures on the lead: a visit booked, a visit attended

The manager's report counted booked and attended leads by grouping every
appointment of the range's leads and joining them to the leads, in two of its
queries.  Each lead now carries both figures, set when a visit is booked and
when one is marked attended (leads/services/report_facts.py), filled in here
from the appointments already stored.

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


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_booked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('visit_attended', sa.Boolean(), server_default=sa.false(), nullable=False))

    leads = sa.table('leads', sa.column('id', sa.Integer), sa.column('visit_booked', sa.Boolean),
                     sa.column('visit_attended', sa.Boolean))
    appointments = sa.table('appointments', sa.column('lead_id', sa.Integer), sa.column('status', sa.String))
    visits = sa.select(appointments.c.lead_id).where(appointments.c.lead_id == leads.c.id)
    op.execute(leads.update().where(visits.exists()).values(visit_booked=True))
    op.execute(leads.update().where(visits.where(appointments.c.status == 'attended').exists())
               .values(visit_attended=True))


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('visit_attended')
        batch_op.drop_column('visit_booked')

"""Requests sent faster than a person types are stored, flagged as suspected automation

Revision ID: a10f7c3e5d21
Revises: 5c1e7a9d2b40
Create Date: 2026-12-02 00:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a10f7c3e5d21'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None

TABLES = ('leads', 'lead_requests')


# Plain ALTER TABLE, not batch mode: SQLite adds a column with a constant default in place, and
# recreating `leads` would break the report triggers that refer to it.
def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column('suspected_automation', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    for table in TABLES:
        op.drop_column(table, 'suspected_automation')

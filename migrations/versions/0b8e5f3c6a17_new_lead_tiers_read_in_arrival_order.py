"""The new-lead tiers read in arrival order: an index on (state, created_at)

Revision ID: 0b8e5f3c6a17
Revises: 4c6eb5981adb
Create Date: 2026-12-02 12:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0b8e5f3c6a17'
down_revision = '4c6eb5981adb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_state_created_at', ['state', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_state_created_at')

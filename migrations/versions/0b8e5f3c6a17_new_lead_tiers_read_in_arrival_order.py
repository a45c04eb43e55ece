"""The new-lead tiers read in arrival order: an index on (state, created_at)

Revision ID: 0b8e5f3c6a17
Revises: e1d5a7c30b92
Create Date: 2026-12-02 12:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0b8e5f3c6a17'
down_revision = 'e1d5a7c30b92'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_state_created_at', ['state', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_state_created_at')

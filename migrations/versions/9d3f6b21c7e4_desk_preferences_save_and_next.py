"""Desk preferences: "save and next" per user

Revision ID: 9d3f6b21c7e4
Revises: e7a2c9d41b35
Create Date: 2026-12-02 01:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d3f6b21c7e4'
down_revision = 'e7a2c9d41b35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('save_and_next', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('save_and_next')

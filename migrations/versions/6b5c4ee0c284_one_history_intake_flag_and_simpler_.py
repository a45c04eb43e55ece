"""one history: intake flag and simpler house

Revision ID: 6b5c4ee0c284
Revises: a10f7c3e5d21, b7d41c2e9a60
Create Date: 2026-12-02 00:41:22.842007

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b5c4ee0c284'
down_revision = ('a10f7c3e5d21', 'b7d41c2e9a60')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

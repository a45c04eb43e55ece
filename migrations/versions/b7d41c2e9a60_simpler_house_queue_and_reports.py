"""A simpler house: the queue reads one (state, next_call_at) index

The seven partial indexes of 88b4a0e225f4 served one hand-tuned probe each;
the queue now reads every tier through ix_leads_state_next_call_at.

Revision ID: b7d41c2e9a60
Revises: 5c1e7a9d2b40
Create Date: 2026-12-02 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d41c2e9a60'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None

CLAIM = ['claimed_by_id', 'claim_expires_at']
# The partial indexes as 88b4a0e225f4 made them: name -> (WHERE, columns).
QUEUE_INDEXES = {
    'ix_leads_queue_callback_owner': ("state = 'callback'", ['callback_owner_id', 'next_call_at', 'id', *CLAIM]),
    'ix_leads_queue_callback_due': ("state = 'callback'", ['next_call_at', 'id', 'callback_owner_id', *CLAIM]),
    'ix_leads_queue_new_repeat': ("state = 'new' AND request_count > 1", ['created_at', 'next_call_at', 'id', *CLAIM]),
    'ix_leads_queue_new_first': ("state = 'new' AND request_count <= 1", ['created_at', 'next_call_at', 'id', *CLAIM]),
    'ix_leads_queue_retry': ("state = 'retry'", ['next_call_at', 'id', *CLAIM]),
    'ix_leads_queue_past_sla': ("state = 'new' AND attempts = 0", ['sla_due_at']),
    'ix_leads_claimed_by': ('claimed_by_id IS NOT NULL', CLAIM),
}


def _where(where):
    return {'sqlite_where': sa.text(where), 'postgresql_where': sa.text(where)}


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        for name, (where, _) in QUEUE_INDEXES.items():
            batch_op.drop_index(name, **_where(where))


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        for name, (where, columns) in QUEUE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False, **_where(where))

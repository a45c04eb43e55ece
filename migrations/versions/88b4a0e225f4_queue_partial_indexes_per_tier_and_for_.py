"""Queue: partial indexes per tier and for held claims

Each take-next probe is a short scan of one small index of open leads, in the
tier's order; the indexes carry the claim, so skipping a held lead and counting
the queue never visit the table rows (leads/services/queue.py).

Revision ID: 88b4a0e225f4
Revises: f5008d412cc0
Create Date: 2026-11-23 20:23:19.297529

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '88b4a0e225f4'
down_revision = 'f5008d412cc0'
branch_labels = None
depends_on = None

CLAIM = ['claimed_by_id', 'claim_expires_at']
# name -> (WHERE, columns); the same SQL on SQLite and PostgreSQL
INDEXES = {
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
        for name, (where, columns) in INDEXES.items():
            batch_op.create_index(name, columns, unique=False, **_where(where))


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        for name, (where, _) in reversed(INDEXES.items()):
            batch_op.drop_index(name, **_where(where))

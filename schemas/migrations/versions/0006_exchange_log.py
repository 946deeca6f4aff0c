"""The exchange log: every delivery in or out and every personal-data export, hash-chained,
and the chain's head

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('exchange_log',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('partner', sa.String(length=32), nullable=False),
    sa.Column('feed', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=True),
    sa.Column('sequence', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('records', sa.Integer(), nullable=True),
    sa.Column('accepted', sa.Integer(), nullable=True),
    sa.Column('rejected', sa.Integer(), nullable=True),
    sa.Column('mapping_version', sa.String(length=255), nullable=True),
    sa.Column('agreement', sa.String(length=64), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('who', sa.String(length=200), nullable=True),
    sa.Column('batch_id', BigId, nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_log')),
    sa.UniqueConstraint('seq', name=op.f('uq_exchange_log_seq'))
    )
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_log_feed_direction_business_date'),
                              ['feed', 'direction', 'business_date'], unique=False)

    op.create_table('exchange_log_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('head_mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_log_head'))
    )
    # The genesis head: every append updates this one row first, which serialises appenders on
    # every backend (jinbao/exchange_log.py); an empty chain's head has no seal yet.
    head = sa.table('exchange_log_head', sa.column('id', sa.Integer), sa.column('seq', sa.BigInteger),
                    sa.column('entry_hash', sa.String), sa.column('head_mac', sa.String))
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'entry_hash': '0' * 64, 'head_mac': ''}])


def downgrade() -> None:
    op.drop_table('exchange_log_head')
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_log_feed_direction_business_date'))
    op.drop_table('exchange_log')

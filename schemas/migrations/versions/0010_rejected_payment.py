"""rejected_payment: the pension-roll rows the gate rejected, kept as sent, so the auditors' report can
tell whose payment of which month is missing because its row was rejected (issue 22, defect 6)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('rejected_payment',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('batch_id', BigId, nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('aac002', sa.String(length=32), nullable=True),
    sa.Column('month', sa.Date(), nullable=True),
    sa.Column('month_sent', sa.String(length=16), nullable=True),
    sa.Column('amount_sent', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_rejected_payment_batch_id_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejected_payment'))
    )
    with op.batch_alter_table('rejected_payment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rejected_payment_aac002'), ['aac002'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rejected_payment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rejected_payment_aac002'))
    op.drop_table('rejected_payment')

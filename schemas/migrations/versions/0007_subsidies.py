"""Subsidy lines (前个人后财政) and their differences after a claim; the front-end database's watermark
and the rows taken from it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('subsidy_line',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('subsidy_year', sa.String(length=4), nullable=False),
    sa.Column('subsidy_level', sa.String(length=1), nullable=False),
    sa.Column('aab301', sa.String(length=6), nullable=False),
    sa.Column('household_division', sa.String(length=6), nullable=False),
    sa.Column('division_source', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=2), nullable=False),
    sa.Column('amount_due', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=True),
    sa.Column('enrollment_batch', BigId, nullable=True),
    sa.Column('paid_date', sa.Date(), nullable=True),
    sa.Column('paid_batch', BigId, nullable=True),
    sa.Column('paid_line', sa.Integer(), nullable=True),
    sa.Column('first_claim_seq', sa.BigInteger(), nullable=True),
    sa.Column('claim_seq', sa.BigInteger(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('computed_batch', BigId, nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('aac002', 'subsidy_year', 'subsidy_level', name=op.f('pk_subsidy_line'))
    )
    with op.batch_alter_table('subsidy_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_line_status_aab301'), ['status', 'aab301'], unique=False)

    op.create_table('subsidy_difference',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('subsidy_year', sa.String(length=4), nullable=False),
    sa.Column('subsidy_level', sa.String(length=1), nullable=False),
    sa.Column('line_aab301', sa.String(length=6), nullable=False),
    sa.Column('line_category', sa.String(length=2), nullable=False),
    sa.Column('line_amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('aab301', sa.String(length=6), nullable=False),
    sa.Column('category', sa.String(length=2), nullable=False),
    sa.Column('amount_due', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('batch_id', BigId, nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('aac002', 'subsidy_year', 'subsidy_level', name=op.f('pk_subsidy_difference'))
    )

    op.create_table('frontend_watermark',
    sa.Column('feed', sa.String(length=64), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('last_date', sa.Date(), nullable=True),
    sa.Column('rows_taken', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', BigId, nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('feed', name=op.f('pk_frontend_watermark'))
    )

    op.create_table('frontend_row',
    sa.Column('feed', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', BigId, nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('feed', 'row_id', name=op.f('pk_frontend_row'))
    )


def downgrade() -> None:
    op.drop_table('frontend_row')
    op.drop_table('frontend_watermark')
    op.drop_table('subsidy_difference')
    with op.batch_alter_table('subsidy_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_line_status_aab301'))
    op.drop_table('subsidy_line')

"""subsidy_payment.aab301 becomes owing_division: the division a payment names is the province, city
or county that owes the line, not a county-level AAB301 (finance.subsidy_payment mapping 2026.1)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subsidy_payment', schema=None) as batch_op:
        batch_op.alter_column('aab301', new_column_name='owing_division', existing_type=sa.String(length=6),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('subsidy_payment', schema=None) as batch_op:
        batch_op.alter_column('owing_division', new_column_name='aab301', existing_type=sa.String(length=6),
                              existing_nullable=True)

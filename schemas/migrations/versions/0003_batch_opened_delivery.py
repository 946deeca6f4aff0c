"""batch: the staged plaintext's name and the record count its sender declared

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_file', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('declared_records', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_column('declared_records')
        batch_op.drop_column('data_file')

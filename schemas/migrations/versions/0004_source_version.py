"""source_version on every published table: the newest delivery wins, whatever the publish order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

TABLES = ('person', 'death_record', 'pension_payment', 'assistance', 'subsidy_payment', 'employer_status')


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('source_version', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('source_version')

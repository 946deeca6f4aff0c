"""subsidy_line: indexed by owing division alone, and on PostgreSQL half of every page left free, so a
payment (or a claim) rewrites its line in place.

A line is rewritten once or twice in its life (claimed, paid).  The index on (status, aab301) named
the column a payment flips, so PostgreSQL could not update in place (HOT) and added an entry to the
primary key and to that index for each paid line: 1M payments took 26 s.  The only query by status
(the claim's lines in arrears) reads most of the table and sorts it by division anyway; the division
alone, which no payment or claim changes, keeps the index lookups by division.  `fillfactor` takes
effect for pages written from now on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:00:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subsidy_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_line_status_aab301'))
        batch_op.create_index(batch_op.f('ix_subsidy_line_aab301'), ['aab301'], unique=False)
    if op.get_context().dialect.name == 'postgresql':
        op.execute("ALTER TABLE subsidy_line SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        op.execute("ALTER TABLE subsidy_line RESET (fillfactor)")
    with op.batch_alter_table('subsidy_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_line_aab301'))
        batch_op.create_index(batch_op.f('ix_subsidy_line_status_aab301'), ['status', 'aab301'], unique=False)

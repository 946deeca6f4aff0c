"""The register (one reconciled row per person), its history, conflicts and life-status history;
the bureau's own feeds (resident enrolment, contributions); CZBZ on deaths; rules_version on batches

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:09:26.356902
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('conflict',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('offered_source', sa.String(length=64), nullable=False),
    sa.Column('value_offered', sa.String(length=200), nullable=True),
    sa.Column('offered_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('value_held', sa.String(length=200), nullable=True),
    sa.Column('held_source', sa.String(length=64), nullable=True),
    sa.Column('held_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('aac002', 'field', 'offered_source', name=op.f('pk_conflict'))
    )
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_field_resolved_at'), ['field', 'resolved_at'], unique=False)

    op.create_table('rejected_death',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('source_feed', sa.String(length=64), nullable=False),
    sa.Column('id_sent', sa.String(length=32), nullable=True),
    sa.Column('aac003', sa.String(length=50), nullable=True),
    sa.Column('aaa002', sa.String(length=1), nullable=True),
    sa.Column('aac006', sa.Date(), nullable=True),
    sa.Column('aab301', sa.String(length=6), nullable=True),
    sa.Column('aac060', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_rejected_death_batch_id_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejected_death'))
    )
    with op.batch_alter_table('rejected_death', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rejected_death_batch_id_line_no'), ['batch_id', 'line_no'], unique=False)
    op.create_table('source_value',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('source_feed', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('aac002', 'field', 'source_feed', name=op.f('pk_source_value'))
    )
    op.create_table('life_status_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=True),
    sa.Column('source_feed', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_life_status_history'))
    )
    with op.batch_alter_table('life_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_life_status_history_aac002'), ['aac002'], unique=False)

    op.create_table('register',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('aac003', sa.String(length=50), nullable=True),
    sa.Column('aac003_source', sa.String(length=64), nullable=True),
    sa.Column('aac003_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('aac003_line', sa.Integer(), nullable=True),
    sa.Column('aac003_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('aaa002', sa.String(length=1), nullable=True),
    sa.Column('aaa002_source', sa.String(length=64), nullable=True),
    sa.Column('aaa002_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('aaa002_line', sa.Integer(), nullable=True),
    sa.Column('aaa002_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('aac006', sa.Date(), nullable=True),
    sa.Column('aac006_source', sa.String(length=64), nullable=True),
    sa.Column('aac006_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('aac006_line', sa.Integer(), nullable=True),
    sa.Column('aac006_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('aac005', sa.String(length=2), nullable=True),
    sa.Column('aac005_source', sa.String(length=64), nullable=True),
    sa.Column('aac005_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('aac005_line', sa.Integer(), nullable=True),
    sa.Column('aac005_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('aab301', sa.String(length=6), nullable=True),
    sa.Column('aab301_source', sa.String(length=64), nullable=True),
    sa.Column('aab301_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('aab301_line', sa.Integer(), nullable=True),
    sa.Column('aab301_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('aab998', sa.String(length=18), nullable=True),
    sa.Column('aab998_source', sa.String(length=64), nullable=True),
    sa.Column('aab998_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('aab998_line', sa.Integer(), nullable=True),
    sa.Column('aab998_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('life_status', sa.String(length=16), nullable=False),
    sa.Column('life_status_date', sa.Date(), nullable=True),
    sa.Column('life_status_source', sa.String(length=64), nullable=True),
    sa.Column('life_status_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('life_status_line', sa.Integer(), nullable=True),
    sa.Column('life_status_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('aac002', name=op.f('pk_register')),
    postgresql_with={'fillfactor': 85}
    )
    with op.batch_alter_table('register', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_life_status'), ['life_status'], unique=False)

    op.create_table('register_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=True),
    sa.Column('source_feed', sa.String(length=64), nullable=True),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_by_batch', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_history'))
    )
    with op.batch_alter_table('register_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_history_aac002_field'), ['aac002', 'field'], unique=False)

    op.create_table('contribution',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('aab998', sa.String(length=18), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('paid_flag', sa.String(length=1), nullable=False),
    sa.Column('source_feed', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_version', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_contribution_batch_id_batch')),
    sa.PrimaryKeyConstraint('aac002', 'aab998', 'month', name=op.f('pk_contribution'))
    )
    op.create_table('resident_enrollment',
    sa.Column('aac002', sa.String(length=18), nullable=False),
    sa.Column('enrollment_year', sa.String(length=4), nullable=False),
    sa.Column('aac003', sa.String(length=50), nullable=True),
    sa.Column('unit_code', sa.String(length=50), nullable=True),
    sa.Column('unit_name', sa.String(length=200), nullable=True),
    sa.Column('unit_division', sa.String(length=6), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('paid_date', sa.Date(), nullable=True),
    sa.Column('source_feed', sa.String(length=64), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_version', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_resident_enrollment_batch_id_batch')),
    sa.PrimaryKeyConstraint('aac002', 'enrollment_year', name=op.f('pk_resident_enrollment'))
    )
    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_version', sa.String(length=64), nullable=True))

    with op.batch_alter_table('death_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('death_action', sa.String(length=1), nullable=True))

    


def downgrade() -> None:
    
    with op.batch_alter_table('death_record', schema=None) as batch_op:
        batch_op.drop_column('death_action')

    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_column('rules_version')

    op.drop_table('resident_enrollment')
    op.drop_table('contribution')
    with op.batch_alter_table('register_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_history_aac002_field'))

    op.drop_table('register_history')
    with op.batch_alter_table('register', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_life_status'))

    op.drop_table('register')
    with op.batch_alter_table('life_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_life_status_history_aac002'))

    op.drop_table('life_status_history')
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_field_resolved_at'))

    op.drop_table('conflict')
    op.drop_table('source_value')
    with op.batch_alter_table('rejected_death', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rejected_death_batch_id_line_no'))
    op.drop_table('rejected_death')
    

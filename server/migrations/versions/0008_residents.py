"""residents' channel: site QR codes, receipts, places; who filed an item

Revision ID: 0008_residents
Revises: 0003, 0006
Create Date: 2026-12-02 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.models.base

revision = '0008_residents'
down_revision = ('0003', '0006')
branch_labels = None
depends_on = None

SOURCE = sa.Enum('staff', 'resident', name='item_source', native_enum=False, length=16)


def upgrade() -> None:
    op.create_table('site_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('created_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', server.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['site_code.id'], name=op.f('fk_site_code_replaced_by_id_site_code')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_site_code_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_code')),
    sa.UniqueConstraint('token', name=op.f('uq_site_code_token'))
    )
    op.create_index('ix_site_code_site', 'site_code', ['site_id'], unique=False)
    op.create_table('resident_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('opinion_id', sa.Integer(), nullable=True),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.Column('created_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('consent_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('satisfaction', sa.Enum('satisfied', 'unsatisfied', name='satisfaction', native_enum=False, length=16), nullable=True),
    sa.Column('satisfaction_note', sa.String(length=500), nullable=False),
    sa.Column('rated_at', server.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['opinion_id'], ['opinion.id'], name=op.f('fk_resident_receipt_opinion_id_opinion')),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_resident_receipt_question_id_question')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_resident_receipt_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_receipt')),
    sa.UniqueConstraint('code', name=op.f('uq_resident_receipt_code')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_resident_receipt_idempotency_key'))
    )
    op.create_index('ix_resident_receipt_opinion', 'resident_receipt', ['opinion_id'], unique=False)
    op.create_index('ix_resident_receipt_question', 'resident_receipt', ['question_id'], unique=False)
    op.create_table('resident_place',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['receipt_id'], ['resident_receipt.id'], name=op.f('fk_resident_place_receipt_id_resident_receipt')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_place')),
    sa.UniqueConstraint('receipt_id', name=op.f('uq_resident_place_receipt_id'))
    )
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', SOURCE, server_default='staff', nullable=False))
        batch_op.alter_column('recorded_by_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', SOURCE, server_default='staff', nullable=False))
        batch_op.alter_column('submitted_by_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.alter_column('submitted_by_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('source')
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.alter_column('recorded_by_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('source')
    op.drop_table('resident_place')
    op.drop_index('ix_resident_receipt_question', table_name='resident_receipt')
    op.drop_index('ix_resident_receipt_opinion', table_name='resident_receipt')
    op.drop_table('resident_receipt')
    op.drop_index('ix_site_code_site', table_name='site_code')
    op.drop_table('site_code')

"""room documents: the documents shown on each room's wall, to show again

Revision ID: 0017_room_documents
Revises: 0016_job_store
Create Date: 2026-12-02 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.models.base

revision = '0017_room_documents'
down_revision = '0016_job_store'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('room_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room', sa.String(length=64), nullable=False),
    sa.Column('document', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('shown_by_id', sa.Integer(), nullable=True),
    sa.Column('shown_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shown_by_id'], ['user_account.id'], name=op.f('fk_room_document_shown_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_document')),
    sa.UniqueConstraint('room', 'document', name=op.f('uq_room_document_room'))
    )
    with op.batch_alter_table('room_document', schema=None) as batch_op:
        batch_op.create_index('ix_room_document_room_shown', ['room', 'shown_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('room_document', schema=None) as batch_op:
        batch_op.drop_index('ix_room_document_room_shown')
    op.drop_table('room_document')

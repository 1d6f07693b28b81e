"""recordings: the rooms' recorded files, each question's place in them, how long kept

Revision ID: 0015_recordings
Revises: 0012_resident_notify
Create Date: 2026-12-02 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.models.base

revision = '0015_recordings'
down_revision = '0012_resident_notify'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('recording',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room', sa.String(length=64), nullable=False),
    sa.Column('file', sa.String(length=200), nullable=False),
    sa.Column('index_file', sa.String(length=200), nullable=False),
    sa.Column('started_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('recovered', sa.Boolean(), nullable=False),
    sa.Column('registered_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', server.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['programme_session.id'], name=op.f('fk_recording_session_id_programme_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording')),
    sa.UniqueConstraint('file', name=op.f('uq_recording_file'))
    )
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index('ix_recording_room_started', ['room', 'started_at'], unique=False)

    op.create_table('recording_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('offset_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_recording_mark_question_id_question')),
    sa.ForeignKeyConstraint(['recording_id'], ['recording.id'], name=op.f('fk_recording_mark_recording_id_recording'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_mark'))
    )
    with op.batch_alter_table('recording_mark', schema=None) as batch_op:
        batch_op.create_index('ix_recording_mark_question', ['question_id'], unique=False)

    op.create_table('recording_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('keep_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('keep_days >= 1', name=op.f('ck_recording_policy_keep_days_positive')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_recording_policy_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_policy'))
    )


def downgrade() -> None:
    op.drop_table('recording_policy')
    with op.batch_alter_table('recording_mark', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_mark_question')
    op.drop_table('recording_mark')
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_room_started')
    op.drop_table('recording')

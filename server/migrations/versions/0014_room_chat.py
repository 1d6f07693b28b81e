"""room chat: messages written in a video room, kept with their session

Revision ID: 0014_room_chat
Revises: 0012_resident_notify
Create Date: 2026-12-02 17:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.models.base

revision = '0014_room_chat'
down_revision = '0012_resident_notify'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('room_chat_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=False),
    sa.Column('room', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('participant_key', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('audience', sa.String(length=8), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('sent_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', server.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_key', sa.String(length=128), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.Column('question_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['user_account.id'], name=op.f('fk_room_chat_message_deleted_by_id_user_account')),
    sa.ForeignKeyConstraint(['question_id'], ['question.id'], name=op.f('fk_room_chat_message_question_id_question')),
    sa.ForeignKeyConstraint(['session_id'], ['programme_session.id'], name=op.f('fk_room_chat_message_session_id_programme_session')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_room_chat_message_site_id_site')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_room_chat_message_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_chat_message')),
    sa.UniqueConstraint('message_key', name=op.f('uq_room_chat_message_message_key')),
    sa.UniqueConstraint('question_id', name=op.f('uq_room_chat_message_question_id'))
    )
    with op.batch_alter_table('room_chat_message', schema=None) as batch_op:
        batch_op.create_index('ix_room_chat_message_room_sent', ['room', 'sent_at'], unique=False)
        batch_op.create_index('ix_room_chat_message_session', ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('room_chat_message', schema=None) as batch_op:
        batch_op.drop_index('ix_room_chat_message_session')
        batch_op.drop_index('ix_room_chat_message_room_sent')

    op.drop_table('room_chat_message')

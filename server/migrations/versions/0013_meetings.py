"""ad-hoc meetings: the host calls sites into a room now, and who was called

Revision ID: 0013_meetings
Revises: 0012_resident_notify
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.models.base import UtcDateTime

revision = '0013_meetings'
down_revision = '0012_resident_notify'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'meeting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('room', sa.String(length=32), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=False),
        sa.Column('started_at', UtcDateTime(), nullable=False),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'],
                                name=op.f('fk_meeting_street_id_street')),
        sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'],
                                name=op.f('fk_meeting_started_by_id_user_account')),
        sa.ForeignKeyConstraint(['ended_by_id'], ['user_account.id'],
                                name=op.f('fk_meeting_ended_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    )
    op.create_index('ix_meeting_street_ended', 'meeting', ['street_id', 'ended_at'])
    op.create_table(
        'meeting_site',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('called_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'],
                                name=op.f('fk_meeting_site_meeting_id_meeting')),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'],
                                name=op.f('fk_meeting_site_site_id_site')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_site')),
        sa.UniqueConstraint('meeting_id', 'site_id', name=op.f('uq_meeting_site_meeting_id')),
    )
    op.create_index('ix_meeting_site_site', 'meeting_site', ['site_id'])


def downgrade() -> None:
    op.drop_index('ix_meeting_site_site', table_name='meeting_site')
    op.drop_table('meeting_site')
    op.drop_index('ix_meeting_street_ended', table_name='meeting')
    op.drop_table('meeting')

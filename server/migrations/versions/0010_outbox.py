"""notices beyond the inbox: channels, routes, preferences, the outbox and its log

Revision ID: 0010_outbox
Revises: 0002
Create Date: 2026-12-02 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import server.models.base

revision = '0010_outbox'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('user_account', sa.Column('phone', sa.String(length=20), nullable=True))
    op.add_column('user_account', sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table('notice_channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('transport', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('sealed_secrets', sa.Text(), nullable=True),
    sa.Column('secret_hints', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_notice_channel_department_id_department')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_notice_channel_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_channel'))
    )
    op.create_table('notice_route',
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('audiences', sa.JSON(), nullable=False),
    sa.Column('updated_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_notice_route'))
    )
    op.create_table('notice_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('transports', sa.JSON(), nullable=False),
    sa.Column('updated_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notice_preference_user_id_user_account')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notice_preference'))
    )
    op.create_table('notice_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', server.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', server.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['notice_channel.id'], name=op.f('fk_notice_outbox_channel_id_notice_channel')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notice_outbox_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_notice_outbox_idempotency_key'))
    )
    op.create_index('ix_notice_outbox_due', 'notice_outbox', ['state', 'not_before'], unique=False)
    op.create_table('notice_delivery_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('at', server.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['notice_outbox.id'], name=op.f('fk_notice_delivery_log_outbox_id_notice_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_delivery_log'))
    )
    op.create_index('ix_notice_delivery_log_outbox', 'notice_delivery_log', ['outbox_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_notice_delivery_log_outbox', table_name='notice_delivery_log')
    op.drop_table('notice_delivery_log')
    op.drop_index('ix_notice_outbox_due', table_name='notice_outbox')
    op.drop_table('notice_outbox')
    op.drop_table('notice_preference')
    op.drop_table('notice_route')
    op.drop_table('notice_channel')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('email')
        batch.drop_column('phone')

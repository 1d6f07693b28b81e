"""an opinion merged into another one about the same matter points at it

Revision ID: 0011_opinion_merge
Revises: 0008_residents
Create Date: 2026-12-02 15:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_opinion_merge'
down_revision = '0008_residents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_opinion_merged_into_id_opinion'), 'opinion',
                                    ['merged_into_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_opinion_merged_into_id_opinion'),
                                 type_='foreignkey')
        batch_op.drop_column('merged_into_id')

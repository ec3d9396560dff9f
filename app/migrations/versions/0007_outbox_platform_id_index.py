"""outbox looked up by the platform's message id, for delivery statuses that arrive later

Revision ID: 0007
Revises: 0006

WhatsApp reports a message it could not deliver (131026 undeliverable, 131047 outside the window) in a
status webhook some time after accepting the send; intake finds the sent piece by the wamid it returned.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_platform_id", "outbox", ["platform_message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_platform_id", table_name="outbox")

"""message flags (agents: "entry X should have answered this message")

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_flags",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("faq_id", sa.String(length=80), nullable=False),
        sa.Column("flagged_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_flags_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["faq_id"],
            ["faq_entries.id"],
            name=op.f("fk_message_flags_faq_id_faq_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_flags")),
        sa.UniqueConstraint("message_id", "flagged_by", name=op.f("uq_message_flags_message_id")),
    )
    op.create_index(op.f("ix_message_flags_message_id"), "message_flags", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_message_flags_message_id"), table_name="message_flags")
    op.drop_table("message_flags")

"""indexes of the queue's figures and of a call: priority in ix_ticket_queue, ix_ticket_recent,
ix_ticket_sent, ix_ticket_lane

An area's recent service times were read through the business-date index, every ticket of the
day in the database (all halls), then sorted; the waiting tickets' priority count read each
ticket's row; a call's look for tickets sent to its counter read and sorted every waiting
ticket of the hall, and its look for the first ticket of each area and kind walked the area's
queue until one matched. Each now reads one index range.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_queue")
        batch_op.create_index(
            "ix_ticket_queue", ["hall_id", "status", "service_id", "priority"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_recent",
            ["service_id", "business_date", "status", "finished_at", "started_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ticket_sent", ["target_counter_id", "status", "queued_at"], unique=False
        )
    op.create_index(
        "ix_ticket_lane",
        "ticket",
        [
            "hall_id",
            "status",
            "service_id",
            sa.text("(priority IS NULL)"),
            sa.text("(booked_for IS NULL)"),
            "queued_at",
        ],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_lane", table_name="ticket")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_sent")
        batch_op.drop_index("ix_ticket_recent")
        batch_op.drop_index("ix_ticket_queue")
        batch_op.create_index("ix_ticket_queue", ["hall_id", "status", "service_id"], unique=False)

"""results counter (area kind, dossier code) and end of day (expired tickets, keep-open day)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:40:00

The ticket status gains "expired": the column is a VARCHAR(20) without a CHECK constraint
(``native_enum=False``), so the new value needs no change in the database.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("intake", "results", name="servicekind", native_enum=False, length=20),
                server_default="intake",
                nullable=False,
            )
        )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dossier_code", sa.String(length=40), nullable=True))
    with op.batch_alter_table("hall", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keep_open_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hall", schema=None) as batch_op:
        batch_op.drop_column("keep_open_on")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("dossier_code")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_column("kind")

"""alert thresholds and pause reasons per hall, the pause's reason code, device health

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hall", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_settings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("pause_reasons", sa.JSON(), nullable=True))
    with op.batch_alter_table("counter", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pause_code", sa.String(length=40), nullable=True))
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("health")
    with op.batch_alter_table("counter", schema=None) as batch_op:
        batch_op.drop_column("pause_code")
    with op.batch_alter_table("hall", schema=None) as batch_op:
        batch_op.drop_column("pause_reasons")
        batch_op.drop_column("alert_settings")

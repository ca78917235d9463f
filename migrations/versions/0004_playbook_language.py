"""staff speak their own language in their own time zone; an ongoing CSM takes over after hand-over;
customers act under their own address

`staff.locale` and `staff.timezone`: internal emails go in the person's language, and quiet
hours follow their clock. `onboarding.ongoing` is the ongoing CSM the hand-over goes to.
`timelineevent.actor` and `humantask.resolved_by` grow to 300 characters: a person on the
customer's side acts as `customer:<email>`.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=False, server_default="en"))
        batch_op.add_column(sa.Column("timezone", sa.String(length=60), nullable=False, server_default="UTC"))
    with op.batch_alter_table("onboarding", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ongoing", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_onboarding_ongoing", ["ongoing"])
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.alter_column("actor", type_=sa.String(length=300), existing_type=sa.String(length=100))
    with op.batch_alter_table("humantask", schema=None) as batch_op:
        batch_op.alter_column("resolved_by", type_=sa.String(length=300), existing_type=sa.String(length=100))


def downgrade() -> None:
    with op.batch_alter_table("humantask", schema=None) as batch_op:
        batch_op.alter_column("resolved_by", type_=sa.String(length=100), existing_type=sa.String(length=300))
    with op.batch_alter_table("timelineevent", schema=None) as batch_op:
        batch_op.alter_column("actor", type_=sa.String(length=100), existing_type=sa.String(length=300))
    with op.batch_alter_table("onboarding", schema=None) as batch_op:
        batch_op.drop_index("ix_onboarding_ongoing")
        batch_op.drop_column("ongoing")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("locale")

"""consents: index (user_id, id), so a person's latest answer is one index lookup

Revision ID: c4e5f6a7b8d9
Revises: 5c0e13b1a4f2
Create Date: 2026-12-01 00:30:00

Who may be shown to an SME is decided on the student's latest answer to the privacy notice
(app.services.eligibility.shown_to_smes): a correlated EXISTS on that student's rows, with no
later row of the same user. The composite index answers both lookups; it replaces the index on
user_id alone, whose lookups it serves as well.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c4e5f6a7b8d9"
down_revision = "5c0e13b1a4f2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_user_id_id", ["user_id", "id"], unique=False)
        batch_op.drop_index("ix_consents_user_id")


def downgrade():
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_user_id", ["user_id"], unique=False)
        batch_op.drop_index("ix_consents_user_id_id")

"""SME name, products and description in Korean and English

Revision ID: 5c0e13b1a4f2
Revises: 801f364b110e
Create Date: 2026-11-30 14:00:00

Existing texts keep their words and move to the field of their language: a text whose letters
are mostly Hangul becomes the Korean field, any other text with letters (Latin, ...) the English
field; a text without letters (digits only) the Korean one, as most programme SMEs write Korean.
Each SME's name, products and description are placed separately. The downgrade puts back the
Korean text, else the English one.
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5c0e13b1a4f2"
down_revision = "801f364b110e"
branch_labels = None
depends_on = None

FIELDS = ("company_name", "products", "description")


def _lang(text):
    letters = [ch for ch in text or "" if ch.isalpha()]
    if not letters:
        return "ko"
    hangul = sum(1 for ch in letters if "HANGUL" in unicodedata.name(ch, ""))
    return "ko" if hangul * 2 >= len(letters) else "en"


def upgrade():
    # Never recreate `smes` on SQLite: dropping the old table would cascade to its matches and
    # codes (ON DELETE CASCADE). SQLite 3.35+ adds and drops these plain columns in place.
    with op.batch_alter_table("smes", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("company_name_ko", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("company_name_en", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("products_ko", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("products_en", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("description_ko", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("description_en", sa.Text(), nullable=True))

    smes = sa.table(
        "smes",
        sa.column("id", sa.Integer),
        *(sa.column(f, sa.Text) for f in FIELDS),
        *(sa.column(f"{f}_{lang}", sa.Text) for f in FIELDS for lang in ("ko", "en")),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(smes.c.id, *(smes.c[f] for f in FIELDS))).all()
    for row in rows:
        values = {}
        for field in FIELDS:
            text = (getattr(row, field) or "").strip()
            if text:
                values[f"{field}_{_lang(text)}"] = text
        if values:
            conn.execute(sa.update(smes).where(smes.c.id == row.id).values(**values))

    with op.batch_alter_table("smes", schema=None, recreate="never") as batch_op:
        for field in FIELDS:
            batch_op.drop_column(field)


def downgrade():
    with op.batch_alter_table("smes", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("company_name", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("products", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("description", sa.Text(), nullable=False, server_default="")
        )
    conn = op.get_bind()
    for field in FIELDS:
        conn.execute(
            sa.text(
                f"UPDATE smes SET {field} = COALESCE(NULLIF({field}_ko, ''), {field}_en, '')"  # noqa: S608
            )
        )
    with op.batch_alter_table("smes", schema=None, recreate="never") as batch_op:
        for field in FIELDS:
            for lang in ("ko", "en"):
                batch_op.drop_column(f"{field}_{lang}")

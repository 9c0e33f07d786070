"""a data version the dashboard's counts are kept by: one row every counted write moves on

Revision ID: e1f2a3b4c5d6
Revises: d5f6a7b8c9e0
Create Date: 2026-12-01 16:00:00

The coordinators' dashboard counted every figure on every request: ~8 ms of the database's own
work (full scans by design). It now keeps its counts per process, keyed on `data_versions`'s
(epoch, n), and counts again only when that changes (issue 14). Triggers move `n` on in the
writing transaction, so every writer is covered: the ORM, Core bulk inserts (a cycle's
proposals are one multi-row INSERT), the scheduler, a shell.

- SQLite: plain AFTER triggers. Writers are serialised by the database's write lock, so the
  bump (row by row: SQLite has no statement triggers) cannot deadlock.
- PostgreSQL: a row updated by a trigger in the middle of a transaction would be locked early,
  and two writers could deadlock (A bumps, then waits for a row B holds; B waits for the bump).
  Here the triggers are CONSTRAINT TRIGGERs, DEFERRABLE INITIALLY DEFERRED: they fire at commit,
  after every other statement, so the version row is the last lock a transaction takes and it
  never waits for anything while holding it. The first firing bumps and marks the transaction
  (a transaction-local setting); the rest return at once, so a 20,000-row insert bumps once.
- The bump is an upsert: if the row is gone (a test emptied every table), the next write makes
  it again with a fresh random epoch, so a number is never reused for other data.

The tables are those the dashboard's statements read (tests/coordinators/test_data_version.py
derives them from the compiled statements and fails if any lacks the triggers). NB: a later
`batch_alter_table` on SQLite copies a table and drops its triggers: make them again there.
"""

import uuid

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1f2a3b4c5d6"
down_revision = "d5f6a7b8c9e0"
branch_labels = None
depends_on = None

COUNTED = (
    "students",
    "smes",
    "student_codes",
    "sme_codes",
    "matches",
    "cycles",
    "match_outcomes",
    "export_statuses",
)

SQLITE_BUMP = (
    "INSERT INTO data_versions (id, n, epoch) VALUES (1, 1, lower(hex(randomblob(16)))) "
    "ON CONFLICT (id) DO UPDATE SET n = data_versions.n + 1;"
)

POSTGRES_FUNCTION = """
CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- once per transaction: the first deferred firing bumps, the others return at once
    IF current_setting('kexport.data_version_bumped', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('kexport.data_version_bumped', 'yes', true);
    INSERT INTO data_versions (id, n, epoch) VALUES (1, 1, gen_random_uuid()::text)
    ON CONFLICT (id) DO UPDATE SET n = data_versions.n + 1;
    RETURN NULL;
END
$$
"""


def upgrade():
    op.create_table(
        "data_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        sa.text("INSERT INTO data_versions (id, n, epoch) VALUES (1, 0, :epoch)").bindparams(
            epoch=uuid.uuid4().hex
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for table in COUNTED:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_data_version "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_data_version()"
            )
    else:
        for table in COUNTED:
            for event in ("insert", "update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_data_version_{event} AFTER {event.upper()} "
                    f"ON {table} BEGIN {SQLITE_BUMP} END"
                )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in COUNTED:
            op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
        op.execute("DROP FUNCTION bump_data_version()")
    else:
        for table in COUNTED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_data_version_{event}")
    op.drop_table("data_versions")

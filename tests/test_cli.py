"""The `flask` commands of CONTRACT.md: create-coordinator and seed-demo."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from babel.languages import get_official_languages
from flask import Flask
from kexport_support import PASSWORD
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import create_app
from app.extensions import db
from app.models import SME, Role, Student, User
from app.schemas import business_number_is_valid


def invoke(runner: Any, *args: str, **kwargs: Any) -> Any:
    # The command may run in an application context (and so a database session) of its own:
    # end ours first, so it neither waits on our transaction nor reads around it.
    db.session.commit()
    result = runner.invoke(args=list(args), **kwargs)
    db.session.rollback()
    return result


def users(*where: Any) -> int:
    return db.session.scalar(select(func.count(User.id)).where(*where)) or 0


# --- create-coordinator ---------------------------------------------------------------------------


def test_create_coordinator(runner: Any) -> None:
    result = invoke(runner, "create-coordinator", "Coord@Example.org", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert "coord@example.org" in result.output
    assert PASSWORD not in result.output
    user = db.session.scalar(select(User).where(User.email == "coord@example.org"))
    assert user is not None and user.role == Role.COORDINATOR
    assert user.password_hash.startswith("scrypt:")
    assert check_password_hash(user.password_hash, PASSWORD)
    assert user.student is None and user.sme is None


def test_create_coordinator_prompts_for_the_password(runner: Any) -> None:
    result = invoke(
        runner, "create-coordinator", "c@example.org", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # typed, not echoed
    assert users(User.role == Role.COORDINATOR) == 1


def test_create_coordinator_then_log_in(runner: Any, client: Any) -> None:
    assert (
        invoke(runner, "create-coordinator", "c@example.org", "--password", PASSWORD).exit_code == 0
    )
    response = client.post("/login", data={"email": "c@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/coordinator/").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("not-an-email", PASSWORD),
        ("c@", PASSWORD),
        ("", PASSWORD),
        ("c@example.org", "short"),
        ("c@example.org", "password"),  # among the most common
        ("c@example.org", "x" * 1025),
    ],
)
def test_create_coordinator_refuses_bad_input(runner: Any, email: str, password: str) -> None:
    result = invoke(runner, "create-coordinator", email, "--password", password)
    assert result.exit_code != 0
    assert users() == 0
    field = "email" if password == PASSWORD else "password"
    assert f"{field}:" in result.output  # says what is wrong


def test_create_coordinator_refuses_a_taken_email(runner: Any, student: User) -> None:
    result = invoke(runner, "create-coordinator", "LINH@example.org", "--password", PASSWORD)
    assert result.exit_code != 0
    assert users() == 1
    assert users(User.role == Role.COORDINATOR) == 0
    assert (
        invoke(runner, "create-coordinator", "c@example.org", "--password", PASSWORD).exit_code == 0
    )
    again = invoke(runner, "create-coordinator", "c@example.org", "--password", PASSWORD + "!")
    assert again.exit_code != 0
    assert users(User.role == Role.COORDINATOR) == 1


def test_no_default_coordinator_after_migrations(tmp_path: Path) -> None:
    """A fresh database, migrated and nothing else, has no account at all (no default login)."""
    from flask_migrate import upgrade

    fresh = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )
    with fresh.app_context():
        try:
            upgrade()
            assert db.session.scalar(select(func.count(User.id))) == 0
            client = fresh.test_client()
            for email in ("admin@example.org", "coordinator@example.org", "admin", "coordinator"):
                for password in ("admin", "password", "coordinator", PASSWORD):
                    response = client.post("/login", data={"email": email, "password": password})
                    assert response.status_code in (401, 429)
        finally:
            db.session.remove()
            db.engine.dispose()


# --- seed-demo ------------------------------------------------------------------------------------


def demo_snapshot() -> dict[str, Any]:
    """The seeded data that matters, without database ids (they differ between runs)."""
    db.session.expire_all()
    students = db.session.scalars(select(Student).join(User).order_by(User.email)).all()
    smes = db.session.scalars(select(SME).join(User).order_by(User.email)).all()
    return {
        "students": [
            (
                s.user.email,
                s.user.locale,
                s.name,
                s.nationality,
                tuple((lang["code"], lang["level"]) for lang in s.languages),
                s.topik_level,
                s.university,
                s.major,
                s.hours_per_week,
                s.visa,
                s.bio,
                tuple(s.markets),
                tuple(s.industries),
                tuple(s.regions),
            )
            for s in students
        ],
        "smes": [
            (
                m.user.email,
                m.company_name,
                m.contact_name,
                m.business_number,
                tuple(m.industries),
                tuple(m.markets),
                m.products,
                m.region,
                m.capacity,
                m.exporting,
                m.min_topik,
            )
            for m in smes
        ],
        "coordinators": sorted(
            db.session.scalars(select(User.email).where(User.role == Role.COORDINATOR))
        ),
    }


def clear_tables() -> None:
    db.session.commit()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


# No simulated answers here (tests/coordinators/test_learned_weights.py covers them): fast.
SEED = ("seed-demo", "--students", "30", "--smes", "10", "--seed", "7", "--answer-cycles", "0")


@pytest.fixture
def seeded(runner: Any) -> dict[str, Any]:
    result = invoke(runner, *SEED)
    assert result.exit_code == 0, result.output
    return demo_snapshot()


def test_seed_demo_is_deterministic(runner: Any, seeded: dict[str, Any]) -> None:
    assert len(seeded["students"]) == 30 and len(seeded["smes"]) == 10
    clear_tables()
    assert users() == 0
    result = invoke(runner, *SEED)
    assert result.exit_code == 0, result.output
    assert demo_snapshot() == seeded

    clear_tables()
    other = invoke(runner, *SEED[:-3], "8", "--answer-cycles", "0")
    assert other.exit_code == 0
    different = demo_snapshot()
    assert different["students"] != seeded["students"]  # the seed matters


def test_seeded_students_come_from_many_countries(seeded: dict[str, Any]) -> None:
    countries = Counter(s[3] for s in seeded["students"])
    assert len(countries) >= 10, countries


def test_seeded_business_numbers_are_valid_and_unique(seeded: dict[str, Any]) -> None:
    numbers = [m[3] for m in seeded["smes"]]
    assert all(business_number_is_valid(n) for n in numbers), numbers
    assert len(set(numbers)) == len(numbers)


def test_seeded_students_speak_the_language_of_their_country(seeded: dict[str, Any]) -> None:
    vietnamese = [s for s in seeded["students"] if s[3] == "VN"]
    assert vietnamese, "no Vietnamese student in the demo (the largest group in Korea)"
    for student in vietnamese:
        assert student[4][0] == ("vi", "native")
    for student in seeded["students"]:
        country, languages = student[3], student[4]
        native = [code for code, level in languages if level == "native"]
        assert len(native) == 1, student
        official = set(get_official_languages(country, de_facto=True)) | {"en"}
        assert native[0] in official, (country, native)
        assert country in student[11]  # their home market is among their markets


def test_seeded_profiles_obey_the_rules(seeded: dict[str, Any]) -> None:
    from app import schemas
    from app.services import profiles
    from app.services.validation import validate

    for student in db.session.scalars(select(Student)):
        validate(schemas.StudentProfileIn, profiles.student_dict(student))
    for sme in db.session.scalars(select(SME)):
        validate(schemas.SMERegistrationIn, profiles.sme_dict(sme))


def test_seed_demo_if_empty_does_nothing_when_data_exist(runner: Any, student: User) -> None:
    result = invoke(runner, *SEED, "--if-empty")
    assert result.exit_code == 0
    assert users() == 1
    assert db.session.scalar(select(func.count(SME.id))) == 0


def test_seed_demo_if_empty_seeds_an_empty_database(runner: Any) -> None:
    result = invoke(runner, *SEED, "--if-empty")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Student.id))) == 30


def test_seed_demo_adds_to_existing_data_without_clashes(
    runner: Any, seeded: dict[str, Any]
) -> None:
    result = invoke(runner, *SEED)
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Student.id))) == 60
    numbers = list(db.session.scalars(select(SME.business_number)))
    assert len(numbers) == len(set(numbers)) == 20
    assert users(User.role == Role.COORDINATOR) == 1


def test_seed_demo_logins_file(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "logins.txt"
    result = invoke(
        runner,
        "seed-demo",
        "--students",
        "2",
        "--smes",
        "1",
        "--answer-cycles",
        "0",
        "--logins-file",
        str(path),
    )
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert "student" in text and "sme" in text and "coordinator" in text
    assert (path.stat().st_mode & 0o777) == 0o600


def test_demo_logins_work(runner: Any, app: Flask) -> None:
    result = invoke(runner, "seed-demo", "--students", "2", "--smes", "1", "--answer-cycles", "0")
    lines = [line.split() for line in result.output.splitlines() if "password:" in line]
    assert {line[0] for line in lines} == {"student", "sme", "coordinator"}
    client = app.test_client()
    for role, email, _, password in lines:
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, role
        client.post("/logout")

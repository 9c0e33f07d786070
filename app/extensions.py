"""Extensions, created unbound here and bound to an application in the factory."""

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.i18n import RequestCachedBabel


class Base(DeclarativeBase):
    # Stable constraint names, so Alembic migrations can name what they alter (FlaskBB does this).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)

# The models' base class: at run time Flask-SQLAlchemy's db.Model (a subclass of Base that names
# tables and binds the session); for the type checker, Base itself, since db.Model is typed Any.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = RequestCachedBabel()  # Flask-Babel, translations looked up once per request

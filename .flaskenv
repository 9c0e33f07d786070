# Read by the `flask` command (python-dotenv) in this checkout only; gunicorn never reads it.
FLASK_APP=app
APP_ENV=development

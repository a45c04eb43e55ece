"""Entry point: `flask --app wsgi …` and `gunicorn wsgi:app`."""
from leads import create_app

app = create_app()

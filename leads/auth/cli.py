"""`flask --app wsgi users …`."""
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Accounts of operators, managers and admins.")

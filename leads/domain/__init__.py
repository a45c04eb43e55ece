"""Pure domain rules of Callback Desk: calendar, call promise, contact fields, call outcomes.

Nothing in this package imports Flask or SQLAlchemy; every function takes ``now`` as an argument.
"""

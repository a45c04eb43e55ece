"""Callback Desk: a clinic's callback requests, the operators' queue, the appointment book.

The application factory is `leads.app.create_app`.
"""

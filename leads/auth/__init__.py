"""Signing in and out; who the current user is; idle sessions end."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l

from leads.extensions import login_manager

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to continue.")
login_manager.login_message_category = "info"


@login_manager.unauthorized_handler
def unauthorized():
    """`login_required` elsewhere answers like the role guards: login page or 401 as JSON."""
    from leads.auth.access import ROLES, deny_unless

    return deny_unless(ROLES)


from leads.auth import loader, two_factor_views, views  # noqa: E402,F401  (the user loader and routes)
from leads.auth.nav import inject_nav  # noqa: E402
from leads.auth.sessions import expire_idle_session  # noqa: E402

bp.before_app_request(expire_idle_session)
bp.before_app_request(two_factor_views.require_set_up)
bp.app_context_processor(inject_nav)

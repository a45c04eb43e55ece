"""Admin routes for accounts, doctors and closures. Views parse, call one service, and map its errors."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_date, gettext as _
from flask_login import current_user, login_user

from leads.admin import bp
from leads.admin.forms import ROLE_LABELS, ClosureForm, CreateUserForm, DoctorForm, PasswordForm
from leads.auth.forms import EmptyForm, TwoFactorRolesForm
from leads.auth.sessions import mark_seen
from leads.net import client_ip
from leads.services.accounts import (
    AccountError,
    Actor,
    UserNotFound,
    create_user,
    deactivate_user,
    get_user,
    list_users,
    reactivate_user,
    reset_password,
)
from leads.services.doctors import (
    DoctorError,
    DoctorInfo,
    add_closure,
    format_plan,
    get_doctor,
    list_closures,
    list_doctors,
    parse_plan,
    remove_closure,
    save_doctor,
    set_doctor_active,
    specialties,
)
from leads.services.two_factor import required_roles, set_required_roles


def _actor() -> Actor:
    return Actor(current_user.id, client_ip())


def _to_users():
    return redirect(url_for(".users"), code=303)


def _show_field_error(form, refused: AccountError) -> None:
    """Put the service's message beside its field (or above the form)."""
    field = getattr(form, refused.field, None) if refused.field else None
    if field is not None:
        field.errors = [*field.errors, str(refused.message)]
    else:
        flash(str(refused.message), "error")


def _render_users(form: CreateUserForm, status: int = 200):
    return (
        render_template(
            "admin/users.html",
            users=list_users(),
            form=form,
            button=EmptyForm(),
            role_labels=ROLE_LABELS,
            two_factor_form=TwoFactorRolesForm(formdata=None, data={r: True for r in required_roles()}),
        ),
        status,
    )


@bp.get("/users")
def users():
    """Every account, with the form to create one."""
    return _render_users(CreateUserForm())


@bp.post("/users")
def create():
    """Create an account; the form again with a message by each bad field."""
    form = CreateUserForm()
    if not form.validate_on_submit():
        return _render_users(form, 422)
    try:
        user = create_user(
            form.username.data, form.role.data, form.password.data, form.display_name.data or "", _actor()
        )
    except AccountError as refused:
        _show_field_error(form, refused)
        return _render_users(form, 422)
    flash(_("Account %(name)s created.", name=user.username), "info")
    return _to_users()


@bp.post("/two-factor")
def two_factor_roles():
    """Which roles must sign in with a second factor."""
    form = TwoFactorRolesForm()
    form.validate_on_submit()  # CSRF was checked before the view ran
    set_required_roles({role for role in ("manager", "admin") if getattr(form, role).data}, _actor())
    flash(_("Saved: who must sign in with a second factor."), "info")
    return _to_users()


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    """Stop an account from signing in; its open sessions end at once."""
    EmptyForm().validate_on_submit()  # CSRF was checked before the view ran
    try:
        user = deactivate_user(user_id, _actor())
    except UserNotFound:
        abort(404)
    except AccountError as refused:
        flash(str(refused.message), "error")
        return _to_users()
    flash(_("Account %(name)s deactivated; it was signed out everywhere.", name=user.username), "info")
    return _to_users()


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    """Let a deactivated account sign in again."""
    EmptyForm().validate_on_submit()  # CSRF was checked before the view ran
    try:
        user = reactivate_user(user_id, _actor())
    except UserNotFound:
        abort(404)
    flash(_("Account %(name)s can sign in again.", name=user.username), "info")
    return _to_users()


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def password(user_id: int):
    """Set a new password for an account; its open sessions end at once."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _render_password(form, user_id, 422 if form.is_submitted() else 200)
    try:
        user = reset_password(user_id, form.password.data, _actor())
    except UserNotFound:
        abort(404)
    except AccountError as refused:
        _show_field_error(form, refused)
        return _render_password(form, user_id, 422)
    if user.id == current_user.id:
        # The admin's own sessions ended with the reset; keep this one going.
        login_user(user)
        mark_seen()
    flash(_("New password set for %(name)s; the account was signed out everywhere.", name=user.username), "info")
    return _to_users()


def _render_password(form: PasswordForm, user_id: int, status: int):
    try:
        user = get_user(user_id)
    except UserNotFound:
        abort(404)
    return render_template("admin/password.html", form=form, user=user), status


# -- doctors -------------------------------------------------------------------------------------


def _doctor_error(form, refused: DoctorError) -> None:
    """Put the doctor service's message beside its field (or above the form)."""
    field = getattr(form, refused.field, None) if refused.field in form._fields else None
    if field is not None:
        field.errors = [*field.errors, str(refused.message)]
    else:
        flash(str(refused.message), "error")


def _save_doctor_from(form: DoctorForm, doctor_id: int | None = None) -> DoctorInfo:
    """Parse the plan's text and save; raises DoctorError by field."""
    return save_doctor(
        user_id=current_user.id,
        name=form.name.data or "",
        specialty=form.specialty.data or "",
        plan=parse_plan(form.plan.data or ""),
        doctor_id=doctor_id,
        ip=client_ip(),
    )


def _render_doctors(form: DoctorForm, status: int = 200):
    return (
        render_template(
            "admin/doctors.html",
            doctors=list_doctors(include_inactive=True),
            specialties=specialties(),
            form=form,
            button=EmptyForm(),
            format_plan=format_plan,
        ),
        status,
    )


@bp.get("/doctors")
def doctors():
    """Every doctor (active first by specialty), with the form to add one."""
    return _render_doctors(DoctorForm())


@bp.post("/doctors")
def create_doctor():
    """Add a doctor; the form again with a message by each bad field."""
    form = DoctorForm()
    if not form.validate_on_submit():
        return _render_doctors(form, 422)
    try:
        doctor = _save_doctor_from(form)
    except DoctorError as refused:
        _doctor_error(form, refused)
        return _render_doctors(form, 422)
    flash(_("Doctor %(name)s added.", name=doctor.name), "info")
    return redirect(url_for(".doctors"), code=303)


@bp.route("/doctors/<int:doctor_id>", methods=["GET", "POST"])
def edit_doctor(doctor_id: int):
    """Change a doctor's name, specialty or weekly plan (booked appointments stay)."""
    try:
        doctor = get_doctor(doctor_id)
    except DoctorError:
        abort(404)
    form = DoctorForm(data={"name": doctor.name, "specialty": doctor.specialty, "plan": format_plan(doctor.plan)})
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                saved = _save_doctor_from(form, doctor_id)
            except DoctorError as refused:
                _doctor_error(form, refused)
            else:
                flash(_("Doctor %(name)s saved.", name=saved.name), "info")
                return redirect(url_for(".doctors"), code=303)
    page = render_template("admin/doctors_edit.html", form=form, doctor=doctor, specialties=specialties())
    return page, status


@bp.post("/doctors/<int:doctor_id>/deactivate")
def deactivate_doctor(doctor_id: int):
    """Stop new appointments with a doctor; those already booked stay."""
    return _set_doctor_active(doctor_id, False)


@bp.post("/doctors/<int:doctor_id>/reactivate")
def reactivate_doctor(doctor_id: int):
    """Let a doctor take appointments again."""
    return _set_doctor_active(doctor_id, True)


def _set_doctor_active(doctor_id: int, active: bool):
    EmptyForm().validate_on_submit()  # CSRF was checked before the view ran
    try:
        set_doctor_active(doctor_id, active, user_id=current_user.id, ip=client_ip())
    except DoctorError:
        abort(404)
    if active:
        flash(_("The doctor takes appointments again."), "info")
    else:
        flash(_("The doctor takes no new appointments; those already booked stay."), "info")
    return redirect(url_for(".doctors"), code=303)


# -- closures ------------------------------------------------------------------------------------


def _render_closures(form: ClosureForm, status: int = 200):
    return (
        render_template("admin/closures.html", closures=list_closures(), form=form, button=EmptyForm()),
        status,
    )


@bp.get("/closures")
def closures():
    """Every closure, with the form to add one."""
    return _render_closures(ClosureForm())


@bp.post("/closures")
def add_closure_day():
    """Shut the clinic on a date: no slots are offered and no calls are due that day."""
    form = ClosureForm()
    if not form.validate_on_submit():
        return _render_closures(form, 422)
    try:
        closure = add_closure(form.day.data, form.reason.data or "", user_id=current_user.id, ip=client_ip())
    except DoctorError as refused:
        _doctor_error(form, refused)
        return _render_closures(form, 422)
    flash(_("The clinic is closed on %(day)s.", day=format_date(closure.day, "d MMMM yyyy")), "info")
    return redirect(url_for(".closures"), code=303)


@bp.post("/closures/<int:closure_id>/remove")
def remove_closure_day(closure_id: int):
    """Open the clinic again on a closed date."""
    EmptyForm().validate_on_submit()  # CSRF was checked before the view ran
    remove_closure(closure_id, user_id=current_user.id, ip=client_ip())
    flash(_("The closure is removed."), "info")
    return redirect(url_for(".closures"), code=303)

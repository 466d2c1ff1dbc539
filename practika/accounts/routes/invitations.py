"""Staff pages for the closed beta: the invitations, their state, and inviting in the browser."""

import sqlalchemy as sa
from flask import flash, render_template, url_for
from flask_login import current_user

from practika.accounts import bp
from practika.accounts.forms import InviteForm
from practika.accounts.guards import staff_required
from practika.accounts.models import BetaInvitation
from practika.accounts.services import AccountError
from practika.accounts.services.invitations import invite, revoke, state
from practika.extensions import db
from practika.htmx import hx_redirect


def _page(form: InviteForm, status: int = 200):
    invitations = db.session.scalars(
        sa.select(BetaInvitation).order_by(BetaInvitation.created_at.desc()).limit(200)
    ).all()
    rows = [(invitation, state(invitation)) for invitation in invitations]
    return render_template("accounts/invitations.html", form=form, rows=rows), status


@bp.get("/invitations")
@staff_required
def invitations():
    return _page(InviteForm())


@bp.post("/invitations")
@staff_required
def invite_someone():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invite(form.email.data, invited_by=current_user)
        except AccountError as error:
            form.email.errors.append(str(error))
        else:
            flash(f"Invitation sent to {form.email.data.strip().lower()}.", "success")
            return hx_redirect(url_for("accounts.invitations"))
    return _page(form, 422)


@bp.post("/invitations/<id:invitation_id>/resend")
@staff_required
def resend_invitation(invitation_id: int):
    invitation = db.get_or_404(BetaInvitation, invitation_id)
    try:
        invite(invitation.email, invited_by=current_user)
    except AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"A new link went to {invitation.email}; the old one no longer works.", "success")
    return hx_redirect(url_for("accounts.invitations"))


@bp.post("/invitations/<id:invitation_id>/revoke")
@staff_required
def revoke_invitation(invitation_id: int):
    invitation = db.get_or_404(BetaInvitation, invitation_id)
    try:
        revoke(invitation.email)
    except AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"The invitation for {invitation.email} is withdrawn.", "success")
    return hx_redirect(url_for("accounts.invitations"))

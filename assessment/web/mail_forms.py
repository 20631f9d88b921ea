"""Forms of the admin's email page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

PLACEHOLDER_HINT = ("Placeholders: {assessment} (its name), {closes} (the close date) and {link} "
                    "(the person's own link, required). Write {{ and }} for a brace.")


class MailTextsForm(FlaskForm):
    invitation_subject = StringField("Invitation subject",
                                     validators=[DataRequired(), Length(max=200)])
    invitation_body = TextAreaField("Invitation text", description=PLACEHOLDER_HINT,
                                    validators=[DataRequired(), Length(max=10_000)],
                                    render_kw={"rows": 12})
    reminder_subject = StringField("Reminder subject", validators=[DataRequired(), Length(max=200)])
    reminder_body = TextAreaField("Reminder text", description=PLACEHOLDER_HINT + (
        " A line on how to stop reminders is added below it."),
        validators=[DataRequired(), Length(max=10_000)], render_kw={"rows": 10})
    reminder_days = StringField(
        "Remind after (days)", validators=[Length(max=100)],
        description="Days after the invitation email, separated by commas, e.g. 3,7. Only people "
                    "who have not submitted are reminded, at most once a day, never after the "
                    "close date. Empty: no scheduled reminders.")
    save = SubmitField("Save texts")
    preview = SubmitField("Preview without saving")

"""WTForms for the admin and login pages (the survey builds its forms per page)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Log in")


class AssessmentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    bank = SelectField("Question bank", coerce=int, validators=[DataRequired()])
    teams = TextAreaField(
        "Teams", description="One per line or separated by commas.",
        validators=[DataRequired(), Length(max=10_000)],
    )
    roles = TextAreaField(
        "Roles", description="One per line or separated by commas.",
        validators=[DataRequired(), Length(max=5_000)],
    )
    min_group_size = IntegerField(
        "Minimum group size", default=5,
        description="Leads never see results of a group smaller than this.",
        validators=[DataRequired(), NumberRange(min=2, max=1000)],
    )
    anonymous = BooleanField(
        "Anonymous", description="Submitted answers keep no link to the invitation they came from."
    )
    interim_releases = BooleanField(
        "Release results while open",
        description="Off: results are released when the assessment closes. On: also whenever at "
                    "least the minimum group size of new responses has arrived in every team "
                    "and role that has any.")
    closes_on = DateField("Closes on (optional)", validators=[Optional()])
    previous = SelectField(
        "Next cycle of (optional)", coerce=int, default=0,
        description="Results will show the change since that assessment (same bank only).")
    submit = SubmitField("Create assessment")


class InviteForm(FlaskForm):
    team = SelectField("Team", validators=[DataRequired()])
    role = SelectField("Role", validators=[DataRequired()])
    count = IntegerField("Number of links", default=10,
                         validators=[DataRequired(), NumberRange(min=1, max=5000)])
    submit = SubmitField("Generate and download links")


class RosterForm(FlaskForm):
    roster = FileField("Roster CSV (email,team,role)",
                       validators=[FileRequired(), FileAllowed(["csv", "txt"], "A .csv file")])
    submit = SubmitField("Import and download links")


class StatusForm(FlaskForm):
    """Open or close: the action is in the button's value, the form only carries CSRF."""


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False),
                                            Length(max=254)])
    role = SelectField(
        "Role", choices=[SelectChoice("lead", "Lead"), SelectChoice("admin", "Admin")])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=12, max=200)],
                             description="At least 12 characters.")
    submit = SubmitField("Create user")


class ShareForm(FlaskForm):
    lead = SelectField("Lead", validators=[DataRequired()])
    submit = SubmitField("Share results")

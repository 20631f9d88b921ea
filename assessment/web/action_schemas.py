"""The API's action and target bodies as pydantic models: they validate what a client sends
and give the OpenAPI schemas. Imported when an actions or targets request (or the API's
description) needs them, not at start: a web worker that serves respondents never builds them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..services import actions as svc
from . import api

Status = Literal["planned", "in_progress", "done", "dropped"]
Lens = Literal["architecture", "operating_model"]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=svc.TITLE_MAX)
    owner: str = Field(min_length=1, max_length=svc.OWNER_MAX,
                       description="A name or an email; the owner needs no account.")
    due: date = Field(description="YYYY-MM-DD.")
    status: Status = "planned"
    dimension: str = Field(min_length=1, max_length=64,
                           description="A dimension id of the assessment's question bank.")
    lens: Lens | None = None
    recommendation: str | None = Field(None, max_length=100,
                                       description="The id of the recommendation it came from.")
    description: str = Field("", max_length=svc.DESCRIPTION_MAX,
                             description="What will change.")
    statements: list[str] = Field(default_factory=list, max_length=100,
                                  description="Question ids it addresses.")
    teams: list[str] = Field(default_factory=list, max_length=100, description=(
        "Teams it concerns: only teams shown in the released results."))


class ActionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=svc.TITLE_MAX)
    owner: str | None = Field(None, min_length=1, max_length=svc.OWNER_MAX)
    due: date | None = None
    status: Status | None = None
    dimension: str | None = Field(None, min_length=1, max_length=64)
    lens: Lens | None = None
    recommendation: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=svc.DESCRIPTION_MAX)
    statements: list[str] | None = Field(None, max_length=100)
    teams: list[str] | None = Field(None, max_length=100)


class ActionEventOut(BaseModel):
    at: datetime
    actor: str
    kind: Literal["created", "changed"]
    changes: dict[str, list[Any]] = Field(description="Field: [before, after].")


class ActionOut(BaseModel):
    id: int
    assessment_id: int
    title: str
    description: str
    owner: str
    due: date
    status: Status
    dimension: str
    lens: Lens | None
    recommendation: str | None
    statements: list[str]
    teams: list[str]
    overdue: bool = Field(description="Past its due date and neither done nor dropped.")
    created_at: datetime
    updated_at: datetime
    history: list[ActionEventOut]


class ActionList(BaseModel):
    actions: list[ActionOut]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=api.PER_PAGE_MAX)
    total: int = Field(ge=0)


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: str = Field(min_length=1, max_length=64)
    lens: Lens | None = Field(None, description="None: the whole dimension.")
    value: float = Field(ge=0, le=100, description="The score aimed for, 0-100.")


class TargetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TargetIn] = Field(max_length=100, description=(
        "Every target of the assessment: those left out are removed."))


class TargetOut(BaseModel):
    dimension: str
    lens: Lens | None
    value: float
    current: float | None = Field(description="The score in the latest release (0-100).")
    gap: float | None = Field(description="Points still to go; negative when passed.")


class Targets(BaseModel):
    assessment_id: int
    inherited_from: int | None = Field(description=(
        "The earlier cycle the targets were set on, when this one has none of its own."))
    targets: list[TargetOut]


MODELS: list[type[BaseModel]] = [ActionIn, ActionPatch, ActionOut, ActionList, TargetsIn,
                                 Targets]

"""How headline figures are read in words: the reading bands and the labels of verdicts and reasons.

The results pages, the PDF/HTML report, the spreadsheet tables and the method appendix all take
these from here, so a band moved in one place moves everywhere; templates only display them.
The consensus band is the analysis's own agreement convention, not a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.alignment import CONSENSUS_THRESHOLD, WEAK_CONSENSUS


@dataclass(frozen=True)
class Band:
    """A value at or above `floor` (and below the band above it) reads as `text`."""

    floor: float
    text: str


@dataclass(frozen=True)
class Reading:
    """Bands from the highest floor down; `below` under the lowest, `missing` without a value."""

    name: str
    bands: tuple[Band, ...]
    below: str
    missing: str

    def of(self, value: float | None) -> str:
        if value is None:
            return self.missing
        for band in self.bands:
            if value >= band.floor:
                return band.text
        return self.below


def _figure(value: float) -> str:
    if value < 1:
        return f"{value:.2f}".lstrip("0")
    return f"{value:g}"


ALIGNMENT = Reading(
    "Alignment",
    (Band(85, "The platform broadly carries the way the business says it works."),
     Band(70, "The platform and the way of working diverge in places.")),
    below="The platform and the way of working are far apart.",
    missing="Not computable: no dimension has both lenses.",
)
MATURITY = Reading(
    "Maturity",
    (Band(65, "Most statements are agreed with."),
     Band(45, "Answers sit around the middle of the scale.")),
    below="Most statements are disagreed with.",
    missing="Not computable.",
)
CONSENSUS = Reading(
    "Consensus",
    (Band(CONSENSUS_THRESHOLD, f"Teams agree within themselves (mean item rwg ≥ "
                               f"{_figure(CONSENSUS_THRESHOLD)})."),
     Band(WEAK_CONSENSUS, f"Teams agree moderately within themselves (mean item rwg "
                          f"{_figure(WEAK_CONSENSUS)}–{_figure(CONSENSUS_THRESHOLD)})."),),
    below=f"Teams agree weakly or not at all within themselves (mean item rwg below "
          f"{_figure(WEAK_CONSENSUS)}): read scores with care.",
    missing="Too few reportable teams to judge agreement.",
)
READINGS = (ALIGNMENT, MATURITY, CONSENSUS)

VERDICTS = {"ready": "Ready", "conditional": "Ready with conditions", "not_ready": "Not ready"}
# What each verdict means for the move, under the verdict in the report.
VERDICT_MEANINGS = {
    "ready": "Every gate passed: the way of working is defined and shared well enough to "
             "configure a new platform around it.",
    "conditional": "No blocking gate failed, but the warnings below should be addressed before "
                   "or during the move.",
    "not_ready": "At least one blocking gate failed: a new platform would inherit the mismatch. "
                 "Fix these first.",
}
REASONS = {"disagree_within_groups": "disagree within teams", "groups_differ": "teams differ",
           "roles_differ": "roles differ"}


def verdict_label(verdict: str | None) -> str | None:
    return VERDICTS.get(verdict, verdict) if verdict else verdict


def reason_label(reason: str) -> str:
    return REASONS.get(reason, reason)


def appendix_notes() -> list[tuple[str, str]]:
    """The method appendix's entries for the bands, written from the bands themselves."""
    notes = []
    for reading in READINGS:
        parts = [f"{_figure(band.floor)} and above: “{band.text}”" for band in reading.bands]
        parts.append(f"below {_figure(reading.bands[-1].floor)}: “{reading.below}”")
        notes.append((f"Reading of {reading.name.lower()}", "; ".join(parts) + "."))
    notes.append(("Readiness verdicts", "; ".join(f"{key}: “{label}”"
                                                  for key, label in VERDICTS.items()) + "."))
    return notes

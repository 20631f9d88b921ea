"""The analysis core: from answers, groups, roles and a question bank to everything a lead reads.

Pure: pandas, numpy, scipy and scikit-learn only, importing nothing from Flask or the database, so
the same code serves the `analyze` command, the web dashboards and the API, and can be tested and
benchmarked on its own. `analyze` is the entry point; the modules own one stage each:

- `inputs`: checking answers against a bank; reading CSV exports from other survey tools;
- `scoring`: reverse scoring, respondent dimension and lens scores, summaries per group;
- `agreement`: rwg, rwg(j), AD(M), ICC(1), ICC(2), Cronbach's alpha (as R's `multilevel`);
- `confidentiality`: primary and complementary suppression of small cells;
- `divergence`: items on which groups or roles see things differently;
- `clustering`: perception clusters across teams;
- `alignment`: lens gap and alignment per dimension;
- `rules`: recommendations and the readiness verdict from the bank's rules;
- `engine`: the stages in order;
- `result`: the typed result (pydantic only), which pages read without loading the rest.

The names below load on first use, so that importing `assessment.analysis.result` in a web
process does not bring in pandas, scipy and scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import analyze
    from .inputs import AnalysisInput, CsvInputError, read_answers_csv

__all__ = ["AnalysisInput", "CsvInputError", "analyze", "read_answers_csv"]


def __getattr__(name: str) -> Any:
    if name == "analyze":
        from .engine import analyze

        return analyze
    if name in ("AnalysisInput", "CsvInputError", "read_answers_csv"):
        from . import inputs

        return getattr(inputs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

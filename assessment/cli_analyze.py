"""The `analyze` command: the whole analysis of a CSV export from any survey tool, no database.

`flask --app app analyze CSV --bank BANK.yaml --group-col COL [--role-col COL]
[--min-group-size K] [--format json|text] [--out FILE]`

A plain click command (no application context is needed), registered on the app's CLI by the
factory. A bank that breaks the format or a CSV with bad values is reported one problem per line on
stderr, with exit code 1, and nothing is computed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assessment.banks import BankError, read_bank_file

if TYPE_CHECKING:
    from assessment.analysis.result import AnalysisResult

DIVERGENT_ITEMS_SHOWN = 10


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    raise click.exceptions.Exit(1)


@click.command("analyze")
@click.argument("csv_path", metavar="CSV", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bank", "bank_path", required=True, metavar="BANK.yaml",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Question bank the CSV's columns are named after.")
@click.option("--group-col", required=True, help="Column holding each respondent's team.")
@click.option("--role-col", default=None, help="Column holding each respondent's role.")
@click.option("--min-group-size", default=5, show_default=True, type=click.IntRange(min=1),
              help="Groups, roles and cells with fewer respondents are suppressed.")
@click.option("--format", "output_format", default="text", show_default=True,
              type=click.Choice(["json", "text"]), help="Readable summary or the full JSON.")
@click.option("--out", "out_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def analyze_command(csv_path: Path, bank_path: Path, group_col: str, role_col: str | None,
                    min_group_size: int, output_format: str, out_path: Path | None) -> None:
    """Analyse answers in CSV (one row per respondent, a column per question id)."""
    try:
        bank, _ = read_bank_file(bank_path)
    except BankError as exc:
        _fail(exc.lines())
    # pandas, scipy and scikit-learn load when the command runs, not with every command.
    from assessment.analysis import CsvInputError, analyze, read_answers_csv

    try:
        answers, groups, roles = read_answers_csv(csv_path, bank, group_col, role_col)
    except CsvInputError as exc:
        _fail(exc.lines())
    result = analyze(answers, bank, groups=groups, roles=roles, min_group_size=min_group_size)
    text = (json.dumps(result.to_json(), indent=2, ensure_ascii=False) if output_format == "json"
            else render_text(result))
    if out_path is None:
        click.echo(text)
        return
    try:
        out_path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        _fail([f"{out_path}: cannot write: {exc.strerror or exc}"])
    click.echo(f"Written to {out_path}", err=True)


def _num(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def render_text(result: AnalysisResult) -> str:
    """A terminal summary of an analysis result."""
    overall, bank = result.overall, result.bank
    lines = [
        f"{bank.title} ({bank.id} v{bank.version})",
        f"{result.n_respondents} respondents in {overall.groups} groups "
        f"({overall.groups_suppressed} suppressed below {result.min_group_size})",
        f"Overall: alignment {_num(overall.alignment)}, score {_num(overall.score)}, "
        f"consensus (mean item rwg) {_num(overall.consensus, '.2f')}",
        "",
        f"{'dimension':<22}{'score':>7}{'arch':>7}{'opmod':>7}{'gap':>7}{'align':>7}"
        f"{'consens':>8}{'alpha':>7}{'icc1':>7}  note",
    ]
    for dim_id, d in result.dimensions.items():
        note = "low confidence" if d.low_confidence else ""
        lines.append(
            f"{dim_id[:21]:<22}{_num(d.score):>7}{_num(d.lenses.architecture):>7}"
            f"{_num(d.lenses.operating_model):>7}{_num(d.lens_gap):>7}"
            f"{_num(d.alignment):>7}{_num(d.consensus, '.2f'):>8}"
            f"{_num(d.alpha, '.2f'):>7}{_num(d.icc1, '.3f'):>7}  {note}"
        )
    divergent = result.divergence.items
    lines += ["", f"Divergent items: {len(divergent)}"]
    for entry in divergent[:DIVERGENT_ITEMS_SHOWN]:
        lines.append(f"  {entry.item} ({entry.dimension}): {', '.join(entry.reasons)}")
    clusters = result.divergence.clusters
    lines.append("")
    if clusters.clusters:
        lines.append(f"Perception clusters: {clusters.k} "
                     f"(silhouette {_num(clusters.silhouette, '.2f')})")
        for c in clusters.clusters:
            lines.append(f"  {c.id}. {c.share:.0%} ({c.size}): {c.label}")
    else:
        lines.append(f"Perception clusters: {clusters.note or 'none'}")
    lines += ["", f"Recommendations: {len(result.recommendations)}"]
    for rec in result.recommendations:
        where = f" [{rec.dimension}]" if rec.dimension else ""
        lines.append(f"  ({rec.priority}) {rec.title}{where}")
    verdict = result.readiness.verdict
    lines += ["", f"Readiness: {verdict.replace('_', ' ') if verdict else 'no gates defined'}"]
    for gate in result.readiness.gates:
        mark = "pass" if gate.passed else "FAIL"
        reason = f": {gate.reason}" if gate.reason else ""
        lines.append(f"  {mark} {gate.id} ({gate.severity}){reason}")
    return "\n".join(lines)

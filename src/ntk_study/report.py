"""Render the Jupyter Book from result files (never recomputing anything), then build it.

For every figure of the catalogue, ``report/_generated/<id>.md`` holds the figure (copied
from ``results/<id>/``), its claim checks with the published values, and its provenance
block; figures not regenerated yet get a "not reproduced yet" notice. The chapter pages
(``report/*.md``) carry the narrative and ``{include}`` these snippets.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study import catalog
from ntk_study.claims import NOT_REPRODUCED

GENERATED = "_generated"
FIGURE_SUFFIXES = (".png", ".svg")


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; "|" inside cells (norms such as ||H||) is escaped so it cannot split a cell."""
    if not len(frame):
        return "_(no rows)_"
    escaped = frame.apply(lambda column: column.map(lambda cell: str(cell).replace("|", "\\|")))
    return escaped.to_markdown(index=False)


def _verdict_text(verdicts: pd.Series) -> pd.Series:
    return verdicts.map({"yes": "pass", "no": "**FAIL**"}).fillna(verdicts)


def render_claims(claims: pd.DataFrame) -> str:
    table = claims[["claim", "measured", "threshold", "passed", "published"]].rename(columns={"passed": "verdict"})
    table["verdict"] = _verdict_text(table["verdict"])
    return _markdown_table(table)


def _rule_runtimes(rules: list[dict[str, Any]], figure_id: str = "") -> list[str]:
    """One entry per rule; the jobs of a sharded rule (stems ``<name>_<number>``, e.g. the
    full-CIFAR kernel shards) are summed into one entry with their count. A rule of another
    figure (the one whose runs this figure is drawn from) is named with that figure's id."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        path = Path(rule["rule_file"])
        name = re.sub(r"_\d+$", "", path.stem)
        if figure_id and path.parent.name != figure_id:
            name = f"{path.parent.name} {name}"
        groups.setdefault(name, []).append(rule)
    entries = []
    for name, jobs in groups.items():
        runtime = round(sum(job["runtime_s"] for job in jobs), 2)
        peak = max(job["max_rss_mb"] for job in jobs)
        label = f"`{name}`" if len(jobs) == 1 else f"`{name}` ({len(jobs)} jobs, total)"
        entries.append(f"{label}: {runtime} s, peak RSS {peak} MB")
    return entries


def render_provenance(record: dict[str, Any]) -> str:
    settings = ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in sorted(record["settings"].items()))
    if isinstance(record["data"], list):
        data = "; ".join(f"{d['file']} from `{d['location']}` (sha256 `{d['sha256'][:16]}…`)" for d in record["data"])
    else:
        data = record["data"]
    rules = "; ".join(_rule_runtimes(record["rules"], record["figure"]))
    machine = record["machine"]
    machine_text = (f"{machine['host']}, {machine['platform']}, {machine['cpus']} CPUs, "
                    f"{machine['memory_gb']} GB, JAX {machine['jax']} on {', '.join(machine['jax_devices'])}")
    lines = [
        "```{admonition} Provenance",
        ":class: dropdown",
        f"- **Scale:** {record['scale']}; **seed:** {record['seed']}",
        f"- **Config:** {settings}",
        f"- **Data:** {data}",
        f"- **Git commit:** `{record['git_commit']}`",
        f"- **Runtime and peak memory:** {rules}",
        f"- **Machine:** {machine_text}",
        "```",
    ]
    return "\n".join(lines)


def render_figure_section(spec: catalog.FigureSpec, results_dir: Path, generated_dir: Path) -> str:
    figure_dir = results_dir / spec.id
    claims_file = figure_dir / "claims.csv"
    claims = pd.read_csv(claims_file, dtype=str, keep_default_na=False) if claims_file.exists() else None
    parts: list[str] = []
    if claims is None or (claims["passed"] == NOT_REPRODUCED).all():
        parts.append(f"```{{note}}\n`{spec.id}` is not reproduced yet. The claims it will check and "
                     "the published values are listed below.\n```")
        rows = pd.DataFrame({"claim": [c.claim for c in spec.claims],
                             "published": [c.published for c in spec.claims]})
        parts.append(_markdown_table(rows))
        return "\n\n".join(parts) + "\n"
    target = generated_dir / spec.id
    target.mkdir(parents=True, exist_ok=True)
    for image in sorted(p for p in figure_dir.iterdir() if p.suffix in FIGURE_SUFFIXES):
        shutil.copy2(image, target / image.name)
        parts.append(f"```{{figure}} /{GENERATED}/{spec.id}/{image.name}\n:name: {spec.id}-{image.stem}\n"
                     f":width: 100%\n\n{spec.title} (`results/{spec.id}/{image.name}`)\n```")
    for table in sorted(figure_dir.glob("*.md")):  # tables written by the plot stage
        parts.append(table.read_text().strip())
    parts.append("**Claim checks**\n\n" + render_claims(claims))
    provenance = figure_dir / "provenance.json"
    if provenance.exists():
        parts.append(render_provenance(json.loads(provenance.read_text())))
    return "\n\n".join(parts) + "\n"


def render_scorecard(scorecard: pd.DataFrame) -> str:
    table = scorecard.copy()
    table["passed"] = _verdict_text(table["passed"])
    return _markdown_table(table) + "\n"


def render_cluster_estimate(estimate: pd.DataFrame) -> str:
    """A compact table of the paper-scale estimate, the scaling models listed below it."""
    scale = estimate["measured_scale"].iloc[0] if len(estimate) else "?"
    table = estimate.rename(columns={
        "measured_runtime_s": f"{scale} run (s)",
        "measured_compute_s": "of it computing (s)",
        "work_ratio_paper_to_measured": "work ratio",
        "paper_runtime_this_cpu_h": "paper, this CPU (h)",
        "paper_gpu_hours": "paper GPU-hours",
        "paper_request": "paper request per job",
    })[["rule", f"{scale} run (s)", "of it computing (s)", "work ratio", "paper, this CPU (h)",
        "paper GPU-hours", "paper request per job"]]
    models = "\n".join(f"- `{row.rule}`: {row.scaling}" for row in estimate.itertuples())
    return _markdown_table(table) + "\n\nScaling of each rule's work:\n\n" + models + "\n"


def render_all(report_dir: Path, results_dir: Path) -> None:
    generated = report_dir / GENERATED
    if generated.exists():
        shutil.rmtree(generated)
    generated.mkdir(parents=True)
    for spec in catalog.figures():
        (generated / f"{spec.id}.md").write_text(render_figure_section(spec, results_dir, generated))
    scorecard = pd.read_csv(results_dir / "scorecard.csv", dtype=str, keep_default_na=False)
    (generated / "scorecard.md").write_text(render_scorecard(scorecard))
    shutil.copy2(results_dir / "scorecard.csv", generated / "scorecard.csv")
    estimate = pd.read_csv(results_dir / "cluster-estimate.csv", dtype=str, keep_default_na=False)
    (generated / "cluster-estimate.md").write_text(render_cluster_estimate(estimate))


def build_book(report_dir: Path, results_dir: Path) -> Path:
    """Render the generated snippets and run ``jupyter-book build``; return the index page."""
    render_all(report_dir, results_dir)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", str(report_dir),
               "--builder", "html", "--warningiserror", "--keep-going"]
    subprocess.run(command, check=True)
    index = report_dir / "_build" / "html" / "index.html"
    if not index.exists():
        raise RuntimeError(f"jupyter-book finished but {index} is missing")
    return index

"""Render the Jupyter Book from result files (never recomputing anything), then build it.

For every figure of the catalogue, ``report/_generated/<id>.md`` holds the figure (copied
from ``results/<id>/``), its claim checks with the published values, its data files as
downloads with the modules that computed them, and its provenance block; figures not
regenerated yet get a "not reproduced yet" notice. Each snippet starts with the label
``(<id>)=``, so ``{ref}`<id>``` (and the HTML anchor ``<chapter>.html#<id>``) reaches it. The
chapter pages (``report/*.md``) carry the narrative and ``{include}`` these snippets;
``report/_generated/front-page.md`` (included by ``index.md``) lists every ID with a thumbnail,
its claim verdicts and the scale it was run at.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ntk_study import catalog
from ntk_study.claims import (
    CODE_CHECK,
    FAILS,
    HOLDS,
    ILLUSTRATION,
    NOT_EVIDENCE,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPLICATED,
    UNDECIDED,
)
from ntk_study.figures import REGISTRY

GENERATED = "_generated"
FIGURE_SUFFIXES = (".png", ".svg")
FRONT_PAGE = "front-page.md"
# The scorecard's own ID: its section is the scorecard table (scorecard.md on the summary page).
SCORECARD_ID = "tab-scorecard"
# Data files larger than this are not copied into the book (named, with their size, instead).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
THUMBNAIL_WIDTH = "180px"


def _markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; "|" inside cells (norms such as ||H||) is escaped so it cannot split a cell."""
    if not len(frame):
        return "_(no rows)_"
    escaped = frame.apply(lambda column: column.map(lambda cell: str(cell).replace("|", "\\|")))
    return escaped.to_markdown(index=False)


def _verdict_text(verdicts: pd.Series) -> pd.Series:
    return verdicts.map({FAILS: "**fails**"}).fillna(verdicts)


def _interval_text(row: pd.Series) -> str:
    """``estimate [low, high]``, or the estimate alone where there is no interval."""
    if not row["estimate"]:
        return ""
    if row["kind"] != REPLICATED or not row["low"]:
        return row["estimate"]
    return f"{row['estimate']} [{row['low']}, {row['high']}]"


def _replicates_text(row: pd.Series) -> str:
    if row["kind"] != REPLICATED:
        return row["kind"]
    return f"{row['replicates']} × {row['replicate']}" if row["replicates"] else row["replicate"]


def render_claims(claims: pd.DataFrame) -> str:
    """A figure's claims as a list (a table of eight columns does not fit the text column): per
    claim the verdict and the sentence, then the estimate with its interval against the threshold,
    the statistic, what a replicate is, the details (and what would decide an undecided claim) and
    the published value."""
    items = []
    for row in claims.to_dict("records"):
        row = pd.Series(row)
        # "* " bullets: a list of its own, not merged with the data-file list ("- ") that follows
        lines = [f"* **{row['verdict']}**: {row['claim']}"]
        estimate = _interval_text(row)
        if estimate:
            replicates = (f"95% interval over {row['replicates']} replicates" if row["kind"] == REPLICATED
                          else row["kind"])
            lines.append(f"  - estimate {estimate} ({replicates}); threshold {row['threshold']}")
        elif row["threshold"]:
            lines.append(f"  - threshold {row['threshold']}")
        for label, column in (("statistic", "statistic"), ("one replicate", "replicate"), ("details", "details"),
                              ("to decide", "to_decide"), ("published", "published")):
            if row.get(column):
                lines.append(f"  - {label}: {row[column]}")
        items.append("\n".join(lines))
    return "\n".join(items) if items else "_(no claims)_"


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


def section_label(figure_id: str) -> str:
    """The MyST label at the top of a figure's section (also its HTML anchor)."""
    return f"({figure_id})="


def _data_files(figure_id: str, figure_dir: Path) -> list[str]:
    """The data files the figure's claims and plot stages read (registry), given the settings
    of the run (from its provenance record: tab-cntk's full setting adds files)."""
    job = REGISTRY[figure_id]
    provenance = figure_dir / "provenance.json"
    if provenance.exists():
        return list(job.data_outputs(json.loads(provenance.read_text())["settings"]))
    return list(job.data_files)


def render_sources(figure_id: str, figure_dir: Path, target: Path) -> str:
    """Download links to the figure's data files and claim rows (copied into ``target``) and the
    modules that computed, checked and drew it."""
    job = REGISTRY[figure_id]
    links = []
    for name in [*_data_files(figure_id, figure_dir), "claims.csv"]:
        source = figure_dir / name
        if not source.exists():
            continue
        size = source.stat().st_size
        if size > MAX_DOWNLOAD_BYTES:
            links.append(f"`{name}` ({size / 2**20:.0f} MB, not copied into the book: `results/{figure_id}/{name}`)")
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)  # tab-cntk's full/ files
        shutil.copy2(source, target / name)
        links.append(f"{{download}}`{name} </{GENERATED}/{figure_id}/{name}>`")
    compute = REGISTRY[job.data_from] if job.data_from else job
    drawn_from = f" (the runs of {{ref}}`{job.data_from} <{job.data_from}>`)" if job.data_from else ""
    return "\n".join([
        f"- **Data files:** {', '.join(links) if links else '_(none)_'}",
        f"- **Computed by:** `ntk_study.experiments.{compute.name}`{drawn_from}; claims checked by "
        f"`ntk_study.analysis.{job.name}`, drawn by `ntk_study.plots.{job.name}`",
    ])


def render_figure_section(spec: catalog.FigureSpec, results_dir: Path, generated_dir: Path) -> str:
    figure_dir = results_dir / spec.id
    claims_file = figure_dir / "claims.csv"
    claims = pd.read_csv(claims_file, dtype=str, keep_default_na=False) if claims_file.exists() else None
    parts: list[str] = []
    if claims is None or (claims["verdict"] == NOT_REPRODUCED).all():
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
    if spec.id in REGISTRY:
        parts.append(render_sources(spec.id, figure_dir, target))
    provenance = figure_dir / "provenance.json"
    if provenance.exists():
        parts.append(render_provenance(json.loads(provenance.read_text())))
    return "\n\n".join(parts) + "\n"


def _estimate_cell(row: pd.Series) -> str:
    """The summary's compact estimate: ``estimate [low, high], n = R`` (what a replicate is, is in
    the figure's claim table); exact checks and code checks say their kind instead of n."""
    interval = _interval_text(row)
    if row["kind"] != REPLICATED:
        return f"{interval} ({row['kind']})" if interval else f"({row['kind']})"
    return f"{interval}, n = {row['replicates']}" if interval else ""


def render_scorecard(scorecard: pd.DataFrame) -> str:
    """The summary page's table, readable at a glance: verdict, the claim (linked to its figure),
    estimate with interval and replicates, threshold, published value. The details of each row
    are one click away, in its figure's claim table."""
    rows = scorecard[scorecard["id"] != SCORECARD_ID]
    table = pd.DataFrame({
        "verdict": _verdict_text(rows["verdict"]),
        "claim": [f"{claim} ({{ref}}`{figure_id} <{figure_id}>`)"
                  for claim, figure_id in zip(rows["claim"], rows["id"])],
        "estimate [95% interval]": rows.apply(_estimate_cell, axis=1),
        "threshold": rows["threshold"],
        "published": rows["published"],
    })
    counts = verdict_counts(rows["verdict"], rows["kind"])
    return f"{len(rows)} claims: {counts}.\n\n" + _markdown_table(table) + "\n"


def verdict_counts(verdicts: pd.Series, kinds: pd.Series | None = None) -> str:
    """``"2 hold, 1 fails, 1 undecided"``; code checks and illustrations (``kinds``) are counted
    apart, as they are no evidence for a claim; claims not checked yet count as "not reproduced"."""
    evidence = verdicts if kinds is None else verdicts[~kinds.isin(NOT_EVIDENCE)]
    counts = [(int((evidence == HOLDS).sum()), "hold"), (int((evidence == FAILS).sum()), "**fail**"),
              (int((evidence == UNDECIDED).sum()), "undecided"),
              (int((evidence == NOT_TESTABLE).sum()), "not testable here"),
              (0 if kinds is None else int((kinds == CODE_CHECK).sum()), "code check"),
              (0 if kinds is None else int((kinds == ILLUSTRATION).sum()), "illustration"),
              (int((evidence == NOT_REPRODUCED).sum()), "not reproduced")]
    return ", ".join(f"{count} {word}" for count, word in counts if count) or "no claims"


def _thumbnail(figure_id: str, generated_dir: Path, chapter: str) -> str:
    job = REGISTRY.get(figure_id)
    images = [name for name in (job.image_files if job else ()) if (generated_dir / figure_id / name).exists()]
    if not images:
        return "table" if figure_id.startswith("tab-") and job else "—"
    return (f"```{{image}} /{GENERATED}/{figure_id}/{images[0]}\n:width: {THUMBNAIL_WIDTH}\n"
            f":alt: {figure_id}\n:target: {chapter}.html#{figure_id}\n```")


def render_front_page(scorecard: pd.DataFrame, generated_dir: Path) -> str:
    """Every figure and table ID of the lecture, in lecture order: a link to its section, a
    thumbnail (the first image of a regenerated figure, as copied into ``generated_dir``), its
    claim verdicts and the scale it was run at, all read from the scorecard."""
    rows = []
    for chapter in catalog.chapters():
        for spec in chapter.figures:
            claims = scorecard[scorecard["id"] == spec.id]
            checked = claims[claims["verdict"] != NOT_REPRODUCED]
            scale = ", ".join(sorted(set(checked["scale"]))) if len(checked) else "not run"
            cells = [f"{{ref}}`{spec.id} <{spec.id}>`\n\n{spec.title}", _thumbnail(spec.id, generated_dir, chapter.key),
                     f"{{doc}}`{chapter.title} <{chapter.key}>`", verdict_counts(claims["verdict"], claims["kind"]),
                     scale]
            rows.append(cells)
    lines = ["````{list-table}", ":header-rows: 1", ":widths: 26 36 18 12 8", ":class: front-page", "",
             "* - ID\n  - Figure\n  - Chapter\n  - Claims\n  - Scale"]
    for cells in rows:
        item = []
        for k, cell in enumerate(cells):
            first, *rest = cell.split("\n")
            item.append(("* - " if k == 0 else "  - ") + first)
            item.extend(f"    {line}" if line else "" for line in rest)
        lines.append("\n".join(item))
    lines.append("````")
    claims = scorecard[scorecard["id"] != SCORECARD_ID]
    reproduced = sum(1 for spec in catalog.figures() if spec.id in REGISTRY)
    head = (f"{len(catalog.figures())} figures and tables, {reproduced} regenerated; "
            f"their {len(claims)} claims: {verdict_counts(claims['verdict'], claims['kind'])}.")
    return head + "\n\n" + "\n".join(lines) + "\n"


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


def render_study_runtime(summary: pd.DataFrame, rules: pd.DataFrame, largest: int = 5) -> str:
    """The time summary per budget group, then the largest rules."""
    head = summary.rename(columns={"wall_min": "rule time (min)", "cpu_min": "CPU (min)", "cpu_use": "CPU use"})
    top = rules.head(largest).assign(cpu_use=lambda frame: (frame["cpu_s"] / frame["wall_s"]).round(2))
    text = (_markdown_table(head) + f"\n\nThe {largest} largest rules (wall and CPU seconds):\n\n"
            + _markdown_table(top[["rule", "wall_s", "cpu_s", "cpu_use"]]) + "\n")
    if "s_per_replicate" in rules:
        # Read back from CSV without NA parsing, a rule without claims has empty cells here.
        costs = rules.assign(replicates=pd.to_numeric(rules["replicates"], errors="coerce"),
                             s_per_replicate=pd.to_numeric(rules["s_per_replicate"], errors="coerce"))
        costs = costs.dropna(subset=["replicates", "s_per_replicate"]).sort_values("rule")
        text += ("\nCost of a replicate: each figure's compute rule (wall seconds) over the most replicates "
                 "any of its claims used.\n\n" + _markdown_table(
                     costs[["rule", "wall_s", "replicates", "s_per_replicate"]].astype({"replicates": int})) + "\n")
    return text


def render_all(report_dir: Path, results_dir: Path) -> None:
    generated = report_dir / GENERATED
    if generated.exists():
        shutil.rmtree(generated)
    generated.mkdir(parents=True)
    for spec in catalog.figures():
        label = section_label(spec.id) + "\n\n" if spec.id != SCORECARD_ID else ""
        (generated / f"{spec.id}.md").write_text(label + render_figure_section(spec, results_dir, generated))
    scorecard = pd.read_csv(results_dir / "scorecard.csv", dtype=str, keep_default_na=False)
    (generated / "scorecard.md").write_text(section_label(SCORECARD_ID) + "\n\n" + render_scorecard(scorecard))
    (generated / FRONT_PAGE).write_text(render_front_page(scorecard, generated))
    shutil.copy2(results_dir / "scorecard.csv", generated / "scorecard.csv")
    estimate = pd.read_csv(results_dir / "cluster-estimate.csv", dtype=str, keep_default_na=False)
    (generated / "cluster-estimate.md").write_text(render_cluster_estimate(estimate))
    runtime = [pd.read_csv(results_dir / name, keep_default_na=False)
               for name in ("study-runtime.csv", "study-runtime-rules.csv")]
    (generated / "study-runtime.md").write_text(render_study_runtime(*runtime))


# MathJax is served from the book's own files (``_config.yml``: ``html_extra_path``, ``mathjax_path``),
# taken from the pinned PyPI package django-static-mathjax (MathJax's es5 build; no Django needed).
MATHJAX_DIR = "_mathjax"
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y", "sre")


def copy_mathjax(report_dir: Path) -> Path:
    """Copy the MathJax files the book loads into ``<report>/_mathjax/_static/mathjax`` (ignored by git)."""
    spec = importlib.util.find_spec("mathjax")
    package = Path(spec.origin).parent / "static" / "mathjax" if spec and spec.origin else None
    if package is None or not (package / "es5" / MATHJAX_PARTS[0]).is_file():
        raise RuntimeError("MathJax not found: install the pinned django-static-mathjax (requirements.lock)")
    target = report_dir / MATHJAX_DIR / "_static" / "mathjax"
    shutil.rmtree(report_dir / MATHJAX_DIR, ignore_errors=True)
    for part in MATHJAX_PARTS:
        source = package / "es5" / part
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target / part)
    shutil.copy2(package / "LICENSE", target / "LICENSE")
    return target


def build_book(report_dir: Path, results_dir: Path) -> Path:
    """Render the generated snippets and run ``jupyter-book build``; return the index page."""
    render_all(report_dir, results_dir)
    copy_mathjax(report_dir)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", str(report_dir),
               "--builder", "html", "--warningiserror", "--keep-going"]
    subprocess.run(command, check=True)
    index = report_dir / "_build" / "html" / "index.html"
    if not index.exists():
        raise RuntimeError(f"jupyter-book finished but {index} is missing")
    return index

"""Claim rows, the scorecard and the book's rendering of them."""

from __future__ import annotations

import pandas as pd

from ntk_study import catalog
from ntk_study.claims import COLUMNS, NOT_REPRODUCED, build_scorecard, decide, exact, pending, write_claims
from ntk_study.metrics import loglog_slope
from ntk_study.report import render_claims


def test_loglog_slope_recovers_power_law():
    widths = [16, 64, 256, 1024]
    assert abs(loglog_slope(widths, [3 * w**-0.5 for w in widths]) + 0.5) < 1e-12


def test_scorecard_lists_every_claim_of_the_catalogue(tmp_path):
    files = []
    for spec in catalog.figures():
        if spec.id == "tab-scorecard":
            continue
        rows = pending(spec.id, "test")
        if spec.id == "fig-ntk-init":
            rows = [decide(spec.id, "slope", [-0.21, -0.2, -0.19], "test"),
                    decide(spec.id, "below-bound", [0.1, 0.3, 0.2], "test")]
        if spec.id == "fig-imagenet-winners":
            rows = [exact(spec.id, "error-falls", -0.58, holds=True, scale="test")]
        files.append(tmp_path / f"{spec.id}.csv")
        write_claims(files[-1], rows)
    table = build_scorecard(files, "test")
    assert list(table.columns) == COLUMNS
    assert set(table["id"]) == {spec.id for spec in catalog.figures()}
    n_claims = sum(len(spec.claims) for spec in catalog.figures())
    assert len(table) == n_claims
    failing = table[(table["id"] == "fig-ntk-init") & (table["verdict"] == "fails")]
    assert failing["estimate"].tolist() == ["-0.2"]  # a failing claim is shown with its number
    assert float(failing["low"].iloc[0]) < -0.2 < float(failing["high"].iloc[0])
    summary = table.iloc[-1]
    assert summary["id"] == "tab-scorecard" and summary["verdict"] == "fails"
    # the exact (cited-data) check counts as checked but not among the replicated verdicts
    assert summary["details"].startswith(f"3 of {n_claims - 1} claims checked; replicated claims: 1 hold, 1 fail, "
                                         "0 undecided")
    assert (table["verdict"] == NOT_REPRODUCED).sum() == n_claims - 4


def test_claim_list_shows_verdict_estimate_interval_threshold_and_what_would_decide():
    claims = pd.DataFrame([{
        "claim": "||H(0) - H*||_2 shrinks", "kind": "replicated", "statistic": "slope of ||H||",
        "replicate": "seed", "replicates": "3", "estimate": "0.1", "low": "0.05", "high": "0.15",
        "threshold": "in (-0.6, -0.4)", "verdict": "fails", "to_decide": "", "details": "|s| large",
        "published": "-1/2",
    }, {
        "claim": "noise", "kind": "replicated", "statistic": "s", "replicate": "seed", "replicates": "2",
        "estimate": "0.5", "low": "-1", "high": "2", "threshold": "> 0", "verdict": "undecided",
        "to_decide": "about 9 replicates", "details": "", "published": "",
    }])
    text = render_claims(claims)
    first, second = text.split("\n* ")
    assert first.startswith("* **fails**: ||H(0) - H*||_2 shrinks")
    assert "estimate 0.1 [0.05, 0.15] (95% interval over 3 replicates); threshold in (-0.6, -0.4)" in first
    assert "one replicate: seed" in first and "details: |s| large" in first and "to decide" not in first
    assert second.startswith("**undecided**: noise") and "to decide: about 9 replicates" in second


def test_provenance_sums_the_jobs_of_a_sharded_rule():
    from ntk_study.report import _rule_runtimes

    rules = [{"rule_file": "benchmarks/tab-cntk/compute.tsv", "runtime_s": 5.0, "max_rss_mb": 100.0}]
    rules += [{"rule_file": f"benchmarks/tab-cntk/full_kernels_{k}.tsv", "runtime_s": 2.5, "max_rss_mb": 50.0 + k}
              for k in range(3)]
    rules += [{"rule_file": "benchmarks/tab-cntk/full_cnn_L21.tsv", "runtime_s": 7.0, "max_rss_mb": 70.0}]
    assert _rule_runtimes(rules) == ["`compute`: 5.0 s, peak RSS 100.0 MB",
                                     "`full_kernels` (3 jobs, total): 7.5 s, peak RSS 52.0 MB",
                                     "`full_cnn_L21`: 7.0 s, peak RSS 70.0 MB"]


def test_provenance_names_the_rules_of_the_figure_it_draws_from():
    from ntk_study.report import _rule_runtimes

    rules = [{"rule_file": "benchmarks/tab-noisy-labels/compute.tsv", "runtime_s": 5.0, "max_rss_mb": 100.0},
             {"rule_file": "benchmarks/fig-noisy-labels-curve/plot.tsv", "runtime_s": 1.0, "max_rss_mb": 10.0}]
    assert _rule_runtimes(rules, "fig-noisy-labels-curve") == [
        "`tab-noisy-labels compute`: 5.0 s, peak RSS 100.0 MB", "`plot`: 1.0 s, peak RSS 10.0 MB"]


def _scorecard_with(rows: dict[str, list[str]]) -> pd.DataFrame:
    """A scorecard of the whole catalogue, pending except the verdicts given per ID."""
    records = []
    for spec in catalog.figures():
        verdicts = rows.get(spec.id, [NOT_REPRODUCED] * len(spec.claims))
        records += [{"id": spec.id, "claim": claim.claim, "verdict": verdict, "kind": claim.kind, "scale": "test"}
                    for claim, verdict in zip(spec.claims, verdicts)]
    return pd.DataFrame(records)


def test_front_page_lists_every_id_with_verdicts_scale_thumbnail_and_link(tmp_path):
    from ntk_study.report import render_front_page, verdict_counts

    assert verdict_counts(pd.Series(["holds", "fails", "holds", "undecided"])) == "2 hold, 1 **fail**, 1 undecided"
    kinds = pd.Series(["replicated", "code check", "exact"])
    assert verdict_counts(pd.Series(["fails", "holds", "holds"]), kinds) == "1 hold, 1 **fail**, 1 code check"
    assert verdict_counts(pd.Series([NOT_REPRODUCED])) == "1 not reproduced"
    (tmp_path / "fig-ntk-init").mkdir()
    (tmp_path / "fig-ntk-init" / "figure.png").write_bytes(b"png")
    page = render_front_page(_scorecard_with({"fig-ntk-init": ["holds", "fails"]}), tmp_path)
    rows = page.split("\n* - ")[1:]
    assert len(rows) == 1 + len(catalog.figures())  # a header row, then every ID in lecture order
    assert [row.split("\n")[0] for row in rows[1:]] == [f"{{ref}}`{s.id} <{s.id}>`" for s in catalog.figures()]
    ntk_init = next(row for row in rows if row.startswith("{ref}`fig-ntk-init "))
    assert "```{image} /_generated/fig-ntk-init/figure.png" in ntk_init and ":target: ntk.html#fig-ntk-init" in ntk_init
    assert "1 hold, 1 **fail**" in ntk_init and ntk_init.rstrip().endswith("- test")
    pending = next(row for row in rows if row.startswith("{ref}`fig-parent-child "))
    assert "not reproduced" in pending and pending.rstrip().endswith("- not run") and "{image}" not in pending
    assert page.startswith(f"{len(catalog.figures())} figures and tables")


def test_figure_section_offers_its_data_files_and_names_its_modules(tmp_path):
    from ntk_study.report import render_figure_section

    results, generated = tmp_path / "results", tmp_path / "generated"
    figure_dir = results / "fig-noisy-labels-curve"
    figure_dir.mkdir(parents=True)
    (figure_dir / "histories.csv").write_text("epoch,loss\n0,1.0\n")
    (figure_dir / "figure.png").write_bytes(b"png")
    write_claims(figure_dir / "claims.csv", [decide("fig-noisy-labels-curve", claim.key, [1.0, 2.0], scale="test")
                                             for claim in catalog.figure("fig-noisy-labels-curve").claims])
    section = render_figure_section(catalog.figure("fig-noisy-labels-curve"), results, generated)
    assert "{download}`histories.csv </_generated/fig-noisy-labels-curve/histories.csv>`" in section
    assert "{download}`claims.csv </_generated/fig-noisy-labels-curve/claims.csv>`" in section
    assert (generated / "fig-noisy-labels-curve" / "histories.csv").read_text() == "epoch,loss\n0,1.0\n"
    # drawn from tab-noisy-labels' runs: the module that computed them is that figure's
    assert "`ntk_study.experiments.noisy_labels` (the runs of {ref}`tab-noisy-labels <tab-noisy-labels>`)" in section
    assert "`ntk_study.plots.noisy_labels_curve`" in section

"""The catalogue of figures, tables and claims (``catalog.yaml``), in lecture order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class ClaimSpec:
    """A claim as stated before any run: the lecture's sentence, the statistic that tests it, the
    threshold the statistic must clear and what one replicate of it is."""

    key: str
    claim: str
    published: str
    # "replicated" (decided from an interval over replicates), "exact" (a deterministic check with
    # a stated tolerance) or "code check" (true by construction; not evidence). See ntk_study.claims.
    kind: str = "replicated"
    statistic: str = ""
    # Replicated claims: {above: a}, {below: b} or {within: [a, b]} on the statistic. Exact checks
    # and code checks: the tolerance, as text.
    threshold: dict | str | None = None
    replicate: str = ""

    def threshold_text(self) -> str:
        if isinstance(self.threshold, dict):
            from ntk_study.claims.verdict import Threshold  # the claims package imports this module

            return Threshold.from_spec(self.threshold).text()
        return self.threshold or ""


@dataclass(frozen=True)
class FigureSpec:
    id: str
    title: str
    chapter: str
    claims: tuple[ClaimSpec, ...]


@dataclass(frozen=True)
class Chapter:
    key: str
    title: str
    figures: tuple[FigureSpec, ...]


@cache
def chapters() -> tuple[Chapter, ...]:
    raw = yaml.safe_load(resources.files("ntk_study").joinpath("catalog.yaml").read_text())
    return tuple(
        Chapter(
            key=chapter["key"],
            title=chapter["title"],
            figures=tuple(
                FigureSpec(
                    id=figure["id"],
                    title=figure["title"],
                    chapter=chapter["key"],
                    claims=tuple(ClaimSpec(**claim) for claim in figure["claims"]),
                )
                for figure in chapter["figures"]
            ),
        )
        for chapter in raw["chapters"]
    )


def figures() -> tuple[FigureSpec, ...]:
    return tuple(figure for chapter in chapters() for figure in chapter.figures)


def figure(figure_id: str) -> FigureSpec:
    for spec in figures():
        if spec.id == figure_id:
            return spec
    raise KeyError(f"unknown figure id {figure_id!r}")

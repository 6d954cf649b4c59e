"""Dataset download, verification, parsing and preparation."""

from ntk_study.data.errors import DataError

__all__ = ["DataError"]

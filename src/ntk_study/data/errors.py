"""The one exception type of the data layer."""


class DataError(RuntimeError):
    """A dataset problem a user has to fix (bad checksum, corrupt archive, missing file).

    The message always names the file or dataset concerned and what to do about it.
    """


class GraphSetAbsent(DataError):
    """The data source has no such graph set (e.g. the offline mirror lacks COLLAB)."""

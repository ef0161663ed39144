"""The one error type every data loader raises for bad input."""


class DataError(ValueError):
    """Input data that cannot be loaded, with the place and the fix.

    Messages name the file and, where there is one, the line
    (`ratings.csv:381: ...`), so users never have to read a pandas or
    TensorFlow stack trace to find the problem.

    A `ValueError`, so callers that catch bad values catch it too.

    Examples:
        >>> error = DataError("u.data:12: non-numeric rating: row dropped")
        >>> isinstance(error, ValueError)
        True
    """

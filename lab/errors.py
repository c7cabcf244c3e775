"""The one exception the lab raises: its message is a single line fit for a terminal."""


class LabError(Exception):
    """Something the lab could not do; str(error) says what, in one line, without secrets."""

"""Errors that reach users. Each renders as one line saying what and where."""


class WaComplianceError(Exception):
    """Base of the errors this tool raises on purpose."""


class UsageError(WaComplianceError):
    """Bad command line or profile: the run stops with exit code 4."""


class ProfileError(UsageError):
    """A profile file is missing, malformed or holds an unknown key.

    >>> str(ProfileError("profiles/prod1.yaml", 7, "unknown key 'databse' (did you mean 'database'?)"))
    "profiles/prod1.yaml:7: unknown key 'databse' (did you mean 'database'?)"
    """

    def __init__(self, path, line, problem):
        self.path, self.line, self.problem = str(path), line, problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


class EnvFileError(WaComplianceError):
    """A db.env file does not parse; names the file and line.

    >>> str(EnvFileError("/opt/whatsapp/db.env", 3, "duplicate key WA_DB_PORT (first set on line 2)"))
    '/opt/whatsapp/db.env:3: duplicate key WA_DB_PORT (first set on line 2)'
    """

    def __init__(self, path, line, problem):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{self.path}:{line}: {problem}")


def yaml_problem(exc: BaseException, text: str) -> tuple[int | None, str]:
    """What PyYAML (or its loader) raised over `text`, as its line and a one-line problem."""
    import yaml
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "not valid YAML").split())
        return mark.line + 1 if mark else None, f"invalid YAML: {problem}"
    if isinstance(exc, yaml.reader.ReaderError):
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        return text[:exc.position].count("\n") + 1, f"invalid YAML: character {character!r} is not allowed"
    if isinstance(exc, RecursionError):
        return None, "invalid YAML: nested too deeply"
    return None, f"invalid YAML: {' '.join(str(exc).split())}"


class FactUnavailable(WaComplianceError):
    """A fact could not be gathered (host, engine, file, database unreachable). Checks that need
    it end as `error` with this message, never a traceback. `subject` names what could not be
    read, so the result can name it too."""

    def __init__(self, message, subject=None):
        super().__init__(message)
        self.subject = subject

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


class FactUnavailable(WaComplianceError):
    """A fact could not be gathered (host, engine, file, database unreachable).

    Checks that need it end as `error` with this message, never a traceback.
    `subject` names what could not be read, so the result can name it too.
    """

    def __init__(self, message, subject=None):
        super().__init__(message)
        self.subject = subject

"""db.env: writing the lab's compliant file, and editing it line by line for deviations.

Edits change only the lines they name and keep the file's mode, so a deviation shows exactly
one defect. The compliant file is written to a temporary name created 0600 and renamed, so
the password is never readable by others, not even for a moment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

SECRET_MODE = 0o600


def render(variables: Mapping[str, str], header: str) -> str:
    """The text of a db.env: a comment line, then KEY=value lines in the given order."""
    lines = [f"# {header}"] + [f"{key}={value}" for key, value in variables.items()]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, mode 0600 from the start."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


class DbEnvEditor:
    """Line-level edits of an existing db.env that leave every other line untouched."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines()

    def _save(self, lines: list[str]) -> None:
        # Rewrite in place: the file keeps its inode and mode.
        self.path.write_text("\n".join(lines) + "\n")

    def set(self, key: str, value: str) -> None:
        """KEY=value: replaces the line of KEY, or appends one."""
        self.replace_line(key, f"{key}={value}")

    def replace_line(self, key: str, new_line: str) -> None:
        """Replace the first line assigning KEY with `new_line` (appended if KEY is absent)."""
        lines = self.lines()
        for index, line in enumerate(lines):
            if _assigns(line, key):
                lines[index] = new_line
                break
        else:
            lines.append(new_line)
        self._save(lines)

    def remove(self, key: str) -> None:
        self._save([line for line in self.lines() if not _assigns(line, key)])

    def append(self, line: str) -> None:
        self._save([*self.lines(), line])

    def get(self, key: str) -> str | None:
        for line in self.lines():
            if _assigns(line, key):
                return line.split("=", 1)[1]
        return None


def _assigns(line: str, key: str) -> bool:
    return line.strip().startswith(f"{key}=")

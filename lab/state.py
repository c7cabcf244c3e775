"""What the lab remembers about a deployment, in `<deployment dir>/.lab/` (mode 0700).

- `settings.json`: topology, engine, version, so `python -m lab ... --project P` finds them;
- `db_password`: the generated secret (0600), kept so re-runs keep the same password;
- `deviations.json`: the deviations switched on, so a later process can restore them.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path

from lab.dbenv import write_private

PASSWORD_ALPHABET = string.ascii_letters + string.digits   # safe in env files and SQL
PASSWORD_LENGTH = 32


class DeploymentState:
    def __init__(self, deployment_dir: Path):
        self.path = deployment_dir / ".lab"

    def _file(self, name: str) -> Path:
        return self.path / name

    def create(self) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)

    # --- settings ---
    def settings(self) -> dict | None:
        try:
            return json.loads(self._file("settings.json").read_text())
        except FileNotFoundError:
            return None

    def save_settings(self, settings: dict) -> None:
        self._file("settings.json").write_text(json.dumps(settings, indent=2) + "\n")

    # --- the deployment's database password ---
    def password(self) -> str | None:
        try:
            return self._file("db_password").read_text().strip() or None
        except FileNotFoundError:
            return None

    def password_or_new(self) -> str:
        """The persisted password; generated (and persisted, 0600) on first use."""
        existing = self.password()
        if existing:
            return existing
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))
        write_private(self._file("db_password"), password + "\n")
        return password

    # --- deviations switched on ---
    def active_deviations(self) -> list[str]:
        try:
            return json.loads(self._file("deviations.json").read_text())
        except FileNotFoundError:
            return []

    def save_active_deviations(self, names: list[str]) -> None:
        target = self._file("deviations.json")
        if names:
            target.write_text(json.dumps(names) + "\n")
        elif target.exists():
            os.remove(target)

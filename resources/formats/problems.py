"""A registry file that cannot be read: every problem, each naming file, line and field."""

from __future__ import annotations

from collections.abc import Iterable


class RegistryFileError(ValueError):
    """Raised with every problem found, each as `PATH:LINE: message`, in file order."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))

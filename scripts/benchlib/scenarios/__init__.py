"""Every domain's scenarios; importing this package registers them all. A new domain adds its
module here."""

from benchlib.registry import SCENARIOS, Scenario
from benchlib.scenarios import tasks

__all__ = ["registered", "tasks"]


def registered() -> list[Scenario]:
    return list(SCENARIOS)

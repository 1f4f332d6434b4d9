"""The concerns the pipeline runs, in apply order. Each issue adds its concern here."""

from __future__ import annotations

from appliance.pipeline.concern import Concern


def default_concerns() -> list[Concern]:
    """Every concern of the appliance, in the order they are applied."""
    from appliance.bridge.concern import BridgeConcern
    from appliance.config.concern import CoreConcern

    return [CoreConcern(), BridgeConcern()]

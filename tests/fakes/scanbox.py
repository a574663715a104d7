"""A node configuration with fake scan box hardware: the dummy display and mock buttons."""

from __future__ import annotations

from pathlib import Path

from appliance.config import NodeConfig, build_config


def scan_box_config(data_dir: Path) -> NodeConfig:
    """Station ``box``: no scanner, luma's dummy display, three gpiozero mock buttons."""
    return build_config(
        {
            "node": {"id": "box"},
            "storage": {"data_dir": str(data_dir)},
            "scanner": {"type": "none", "station_id": "box"},
            "display": {"type": "dummy"},
            "buttons": {
                "type": "mock",
                "buttons": [
                    {"name": "add", "pin": 17, "press": "mode:add"},
                    {"name": "consume", "pin": 27, "press": "mode:consume"},
                    {"name": "pair", "pin": 22, "press": "none", "hold": "pairing"},
                ],
                "hold_seconds": 0.05,
            },
        }
    )

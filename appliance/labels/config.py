"""``[labels]``: the label's size and the label printer's webhook (Grocy's shape)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from yarl import URL

from appliance.settings_base import Section

#: A parameter sent to the webhook with every label, as Grocy's ``LABEL_PRINTER_PARAMS``.
ParamValue = str | int | float | bool


class LabelsConfig(Section):
    """Lot labels. Without ``webhook`` the node still renders PNG and PDF labels."""

    # The label's size; the default is Brother's 62 x 29 mm die-cut label (DK-11209) at the
    # QL printers' 300 dpi. brother_ql_web's endless 62 mm roll takes it as well.
    width_mm: float = Field(default=62, ge=15, le=300)
    height_mm: float = Field(default=29, ge=10, le=300)
    dpi: int = Field(default=300, ge=100, le=600)
    # Where to POST a label to print (Grocy's LABEL_PRINTER_WEBHOOK), e.g. brother_ql_web's
    # Grocy endpoint; None: no printer (print buttons open the PDF instead).
    webhook: str | None = None
    # Sent with every label, after (and over) the fields of its own (LABEL_PRINTER_PARAMS).
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=64)
    # JSON body (Grocy's default) or form fields (LABEL_PRINTER_HOOK_JSON = false).
    send_json: bool = Field(default=True, alias="json")
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # The code in the label's DataMatrix and the webhook's ``grocycode``: ours ("lot",
    # LOT:...) or Grocy's grcy:p:{product}:{stock} ("grocy"); the scanner reads both.
    code: Literal["lot", "grocy"] = "lot"

    @field_validator("webhook")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = URL(value)
        except ValueError:
            raise ValueError("must be an http:// or https:// URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, ParamValue]) -> dict[str, ParamValue]:
        bad = [name for name in value if not name or len(name) > 64]
        if bad:
            raise ValueError("parameter names must have 1-64 characters")
        return value

    @model_validator(mode="after")
    def _fits(self) -> LabelsConfig:
        # A picture of more than ~25 megapixels is a mistake (a 300 mm label at 600 dpi).
        if self.width_px * self.height_px > 25_000_000:
            raise ValueError("the label is too large at this dpi (at most 25 megapixels)")
        return self

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # `kitchen-node config` prints the key people write (``json``), not the attribute.
        data: dict[str, Any] = handler(self)
        if "send_json" in data:
            data["json"] = data.pop("send_json")
        return data

    @property
    def width_px(self) -> int:
        """The label's width in printer dots."""
        return round(self.width_mm / 25.4 * self.dpi)

    @property
    def height_px(self) -> int:
        """The label's height in printer dots."""
        return round(self.height_mm / 25.4 * self.dpi)

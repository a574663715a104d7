"""Which lots an inventory (a product's stock set to what was counted) changes, and how.

The plan is shared by the node (``appliance.services.inventory.recount_product``) and central
(its Grocy ``inventory``), so both lower and raise the same lots for the same count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.core.entities import LotState
from appliance.core.stock import LotChoice, pick_lots


def lot_choice(lot: LotState) -> LotChoice:
    """What the lot-picking rules need to know of a lot."""
    created = min(((w[0], w[1]) for w in lot.writes.get("origin", {}).values()), default=(0, ""))
    return LotChoice(
        lot_id=lot.id,
        milli=lot.milli,
        opened=lot.attr("opened_on") is not None,
        best_before=lot.attr("best_before"),
        created=created,
        batch=lot.attr("batch"),
    )


@dataclass
class RecountPlan:
    """New amounts (milli) per lot, in the lots' order, and what to buy when no lot can hold
    a shortfall (``buy_milli`` > 0 only when there is no lot in stock)."""

    new_amounts: dict[str, int] = field(default_factory=dict)
    buy_milli: int = 0


def plan_recount(lots: list[LotState], target_milli: int) -> RecountPlan:
    """Lots below zero count as zero; lots are lowered in the order they would be used up
    (the ones used next lose first); a shortfall goes to the lot used last, or is bought."""
    everything = sum(max(lot.milli, 0) for lot in lots)
    use_order = pick_lots([lot_choice(lot) for lot in lots], everything)
    order = {lot_id: n for n, (lot_id, _) in enumerate(use_order)}
    order |= {lot.id: len(order) + n for n, lot in enumerate(lots) if lot.id not in order}
    positive = sorted((lot for lot in lots if lot.milli > 0), key=lambda lot: order[lot.id])
    changed: dict[str, int] = {lot.id: 0 for lot in lots if lot.milli < 0}
    excess = sum(lot.milli for lot in positive) - target_milli
    for lot in positive:
        if excess <= 0:
            break
        part = min(lot.milli, excess)
        changed[lot.id] = lot.milli - part
        excess -= part
    plan = RecountPlan({lot.id: changed[lot.id] for lot in lots if lot.id in changed})
    if excess < 0:
        if positive:
            last = positive[-1]
            plan.new_amounts[last.id] = last.milli - excess
        else:
            plan.buy_milli = -excess
    return plan

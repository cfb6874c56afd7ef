"""What a rating means: the one definition of "satisfied" used by every figure.

A hall rates on a scale of 3, 4 or 5 points (best = the scale's top score). The state's official
evaluation of public services has three levels; any rating maps onto them: the top score is
`very_satisfied` (Rất hài lòng), the one below it `satisfied` (Hài lòng), every lower score
`dissatisfied` (Không hài lòng). A rating is satisfied when it is on one of the two satisfied
official levels, i.e. in the top two levels of its own scale (4 and 3 of 4).
"""

from __future__ import annotations

OFFICIAL_LEVELS = ("very_satisfied", "satisfied", "dissatisfied")
SATISFIED_LEVELS = ("very_satisfied", "satisfied")


def official_level(score: int | None, scale: int | None) -> str | None:
    """Map a rating of any scale onto the official three levels: the top level is
    "very_satisfied", the second "satisfied", every lower one "dissatisfied"."""
    if score is None or scale is None:
        return None
    if score >= scale:
        return "very_satisfied"
    if score == scale - 1:
        return "satisfied"
    return "dissatisfied"


def is_satisfied(score: int | None, scale: int | None) -> bool | None:
    """Whether a rating counts as satisfied (None when there is no rating)."""
    level = official_level(score, scale)
    return None if level is None else level in SATISFIED_LEVELS

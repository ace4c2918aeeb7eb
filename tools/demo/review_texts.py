"""Texts the return and review generators draw from: return reasons and review titles,
openers, details and closers by rating."""

from __future__ import annotations

RETURN_REASON_WEIGHTS = (
    ("too small", 0.28), ("too big", 0.24), ("changed my mind", 0.22),
    ("not as described", 0.14), ("arrived damaged", 0.07), ("other", 0.05),
)
OTHER_RETURN_REASONS = ("Colour looks different in person", "Ordered two sizes, keeping one",
                        "Arrived too late for my trip", "Found a better fit elsewhere")

REVIEW_TITLES: dict[int, tuple[str, ...]] = {
    5: ("Love it", "Absolutely perfect", "Best {noun} I've owned", "Exceeded my expectations",
        "Worth every penny", "Five stars", "Fantastic quality"),
    4: ("Really good", "Solid {noun}", "Very happy with it", "Great, with one small gripe",
        "Does the job well", "Nice {noun}"),
    3: ("It's okay", "Decent but not amazing", "Mixed feelings", "Average {noun}",
        "Fine for the price"),
    2: ("Disappointed", "Not what I expected", "Wouldn't buy again", "Quality could be better"),
    1: ("Fell apart quickly", "Very poor quality", "Sent it back", "Save your money"),
}
REVIEW_OPENERS: dict[int, tuple[str, ...]] = {
    5: ("I've used this {noun} for {use} for a few months and it's been flawless.",
        "Exactly what I was looking for{for_use}.", "Couldn't be happier with this {noun}.",
        "My second purchase from {brand} and it did not disappoint."),
    4: ("Good {noun} overall and I'd recommend it{for_use}.",
        "Does pretty much everything I wanted{for_use}.", "Really nice {noun}, just not perfect.",
        "Happy with this purchase from {brand}."),
    3: ("It's an okay {noun}, nothing special.",
        "Does the job{for_use}, but I expected more from {brand}.",
        "Some things I like about it, some I don't."),
    2: ("I wanted to like this {noun} but it fell short.", "Not great{for_use}.",
        "Expected better quality from {brand}."),
    1: ("This {noun} was a real letdown.", "Broke after only a couple of uses.",
        "Honestly one of the worst purchases I've made."),
}
REVIEW_DETAILS: dict[str, dict[str, tuple[str, ...]]] = {
    "apparel": {
        "pos": ("True to size and the {material} feels great.",
                "The fit is spot on and the colour looks even better in person.",
                "Comfortable all day and it washes well."),
        "neu": ("Runs slightly small, so consider sizing up.", "Runs a little large in the body.",
                "The {material} is fine but a bit thin."),
        "neg": ("Runs very small; the sizing chart is way off.",
                "The stitching started coming apart after two washes.",
                "The {material} pilled badly within weeks."),
    },
    "footwear": {
        "pos": ("Comfortable straight out of the box, no break-in needed.",
                "Great grip on wet rock and the fit is true to size.",
                "Supportive and light, my feet felt fresh after a long day."),
        "neu": ("A little narrow in the toe box.", "Comfortable enough, but the laces keep coming undone.",
                "Took a couple of weeks to break in."),
        "neg": ("Gave me blisters on the first outing.", "The sole started peeling off within a month.",
                "Sizing is inconsistent; I had to go a full size up."),
    },
    "socks": {
        "pos": ("Warm, soft and no blisters even on long days.", "They dry fast and don't smell."),
        "neu": ("Nice, but they slide down a bit.", "Good cushioning, a little thick for summer."),
        "neg": ("Holes in the heel after a few wears.", "Scratchy and they lost their shape fast."),
    },
    "accessory": {
        "pos": ("Fits well and keeps me comfortable outdoors.", "Well made and the {material} feels premium."),
        "neu": ("Does its job, though the fit is a bit loose.", "Fine, but not as warm as I hoped."),
        "neg": ("The seams came loose almost immediately.", "Fits poorly and feels cheap."),
    },
    "pack": {
        "pos": ("Carries heavy loads comfortably and the pockets are well thought out.",
                "Great back ventilation and plenty of room."),
        "neu": ("Good capacity, but the hip belt could use more padding.",
                "Decent pack, a bit heavy for its size."),
        "neg": ("A zipper broke on the first trip.", "The straps dig into my shoulders after an hour."),
    },
    "tent": {
        "pos": ("Sets up in minutes and stayed dry through a night of heavy rain.",
                "Roomy inside and surprisingly light."),
        "neu": ("Roomy, but it packs down bigger than I hoped.", "Fine in calm weather; flaps a lot in wind."),
        "neg": ("Leaked at the seams in the first storm.", "A pole snapped on the second trip."),
    },
    "bag": {
        "pos": ("Kept me warm right down to the rated temperature.", "Lofty, warm and packs small."),
        "neu": ("Warm enough, but the zipper snags.", "A little tight in the shoulders."),
        "neg": ("I was cold well above the rated temperature.", "Lost a lot of loft after a few nights."),
    },
}
REVIEW_CLOSERS: dict[int, tuple[str, ...]] = {
    5: ("Highly recommend!", "Already thinking of getting another colour.", ""),
    4: ("Would buy again.", "Recommended.", ""),
    3: ("Fine for the price.", ""),
    2: ("Probably won't buy again.", ""),
    1: ("Avoid.", "I'm returning it.", ""),
}

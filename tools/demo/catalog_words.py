"""Words the catalog generator builds products from: model names, title adjectives,
per-noun features and use-cases, weights, fits and price bands by brand tier."""

from __future__ import annotations

MODEL_NAMES = (
    "Ridgeline", "Cascade", "Summit", "Torrent", "Nimbus", "Basalt", "Aspen", "Juniper",
    "Sequoia", "Talus", "Scree", "Cirrus", "Zephyr", "Boulder", "Canyon", "Meridian",
    "Horizon", "Glacier", "Tamarack", "Switchback", "Traverse", "Cairn", "Alpenglow",
    "Pinnacle", "Drift", "Ember", "Fernwood", "Harbor", "Highline", "Keystone", "Larch",
    "Lookout", "Monarch", "Northwind", "Outpost", "Pathfinder", "Quarry", "Saddle",
    "Timberline", "Updraft", "Vantage", "Wayfarer", "Yarrow", "Bristlecone", "Coyote",
    "Dune", "Flint", "Gale", "Heron", "Ibex", "Larkspur", "Mesa", "Redwood", "Sable",
    "Tor", "Vista", "Willow", "Crestline", "Bluebird", "Solstice",
)
MODEL_SUFFIXES = ("", "", "", "", " 2", " 3", " Pro", " Lite", " LT", " Hybrid", " Plus", " Ultra")
TITLE_ADJECTIVES = ("waterproof", "windproof", "insulated", "packable", "lightweight", "warm",
                    "cushioned", "breathable", "stretch")
# noun -> (features it always has, use-cases it always serves)
NOUN_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Rain Jacket": (("waterproof", "hooded"), ("rain",)),
    "Shell": (("waterproof", "windproof"), ("hiking",)),
    "Parka": (("insulated", "hooded"), ("winter",)),
    "Down Jacket": (("insulated", "packable"), ("winter",)),
    "Rain Pants": (("water repellent",), ("rain",)),
    "Ski Pants": (("water repellent",), ("skiing",)),
    "Climbing Pants": (("gusseted crotch",), ("climbing",)),
    "Winter Boot": (("insulated", "waterproof"), ("winter",)),
    "Backpacking Boot": (("ankle support",), ("backpacking",)),
    "Running Shorts": (("built-in liner",), ("trail running",)),
    "Board Shorts": (("quick-dry",), ("summer",)),
    "Ski Socks": ((), ("skiing",)),
    "Running Socks": ((), ("trail running",)),
    "Hiking Socks": (("cushioned",), ("hiking",)),
    "Sun Hat": (("UPF 50",), ("summer",)),
    "Beanie": (("fleece lined",), ("winter",)),
    "Balaclava": ((), ("skiing",)),
    "Ski Gloves": (("waterproof", "insulated"), ("skiing",)),
    "Mittens": (("insulated",), ("winter",)),
    "Hydration Pack": (("hydration compatible",), ("trail running",)),
    "Travel Pack": (("laptop sleeve",), ("travel",)),
    "Backpacking Tent": (("three-season",), ("backpacking",)),
    "Ultralight Tent": (("three-season",), ("backpacking",)),
    "Trail Runner": (("grippy lugs",), ("trail running",)),
    "Approach Shoe": (("grippy lugs",), ("climbing",)),
    "Flannel Shirt": ((), ("camping",)),
    "Travel Shirt": (("wrinkle resistant",), ("travel",)),
}
WEIGHT_RANGES_G: dict[str, tuple[int, int]] = {
    "jackets": (250, 900), "fleece": (200, 500), "t-shirts": (100, 220), "shirts": (180, 350),
    "hoodies": (350, 700), "pants": (250, 600), "shorts": (120, 300), "base-layers": (120, 280),
    "hiking-boots": (700, 1500), "trail-shoes": (500, 800), "sneakers": (600, 900),
    "sandals": (300, 700), "socks": (50, 110), "hats": (40, 150), "gloves": (60, 250),
    "backpacks": (500, 2200), "tents": (900, 4000), "sleeping-bags": (600, 2000),
}
APPAREL_FITS = ("regular", "regular", "slim", "relaxed", "athletic")
FOOTWEAR_FITS = ("regular", "regular", "regular", "wide", "narrow")
TIER_PRICE_BANDS = ((0.0, 0.38), (0.28, 0.68), (0.58, 1.0))

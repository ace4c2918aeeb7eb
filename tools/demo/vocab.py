"""The demo shop's vocabulary: categories, brands, colours, sizes and use-cases.

This is the single source of truth for the words the demo catalog is built from.
The NLU's lookup tables and synonyms for them are generated from the demo shop's
catalog into ``data/nlu/shop_vocabulary.yml`` (``make shop-vocabulary``;
tests/shop/test_vocabulary.py checks that the committed file is current), so the
assistant recognises what the demo shop sells.

Prices are in US dollars; ranges are ``(low, high)`` in whole dollars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHOP_NAME = "Ridgeline Outfitters"
CURRENCY = "USD"

APPAREL_SIZES: tuple[str, ...] = ("XS", "S", "M", "L", "XL", "XXL")
SHOE_SIZES: tuple[str, ...] = ("6", "7", "8", "9", "10", "11", "12", "13")
ONE_SIZE: tuple[str, ...] = ("One Size",)
SOCK_SIZES: tuple[str, ...] = ("S", "M", "L")
PACK_SIZES: tuple[str, ...] = ("One Size",)
TENT_SIZES: tuple[str, ...] = ("1-person", "2-person", "3-person", "4-person")
BAG_SIZES: tuple[str, ...] = ("Regular", "Long")

COLOURS: tuple[str, ...] = (
    "black", "navy", "blue", "red", "green", "olive", "grey", "white",
    "beige", "orange", "yellow", "purple", "pink", "brown", "teal",
)

GENDERS: tuple[str, ...] = ("men", "women", "unisex")

STYLES: tuple[str, ...] = ("technical", "casual", "urban", "classic")

USE_CASES: tuple[str, ...] = (
    "hiking", "trail running", "camping", "skiing", "climbing", "travel",
    "everyday", "commuting", "rain", "winter", "summer", "backpacking",
)


@dataclass(frozen=True)
class Category:
    """One demo category.

    ``nouns`` are the product nouns used in titles; ``sizes`` the variant sizes;
    ``price`` the typical price range in dollars; ``use_cases`` what it is for;
    ``gendered`` whether products come in men's/women's cuts.
    """

    slug: str
    name: str
    nouns: tuple[str, ...]
    sizes: tuple[str, ...]
    price: tuple[int, int]
    use_cases: tuple[str, ...]
    materials: tuple[str, ...]
    features: tuple[str, ...] = field(default_factory=tuple)
    gendered: bool = True


CATEGORIES: tuple[Category, ...] = (
    Category("jackets", "Jackets", ("Jacket", "Rain Jacket", "Shell", "Parka", "Down Jacket", "Softshell"),
             APPAREL_SIZES, (60, 420), ("hiking", "rain", "skiing", "winter", "commuting", "travel"),
             ("nylon", "polyester", "recycled polyester", "Gore-Tex", "down", "synthetic insulation"),
             ("waterproof", "windproof", "insulated", "packable", "hooded", "breathable", "pit zips")),
    Category("fleece", "Fleece & Midlayers", ("Fleece", "Midlayer", "Quarter-Zip", "Grid Fleece", "Vest"),
             APPAREL_SIZES, (35, 160), ("hiking", "camping", "skiing", "everyday", "winter"),
             ("polyester fleece", "recycled fleece", "merino blend"),
             ("full zip", "thumb loops", "stretch", "lightweight", "warm")),
    Category("t-shirts", "T-Shirts & Tops", ("T-Shirt", "Tee", "Tank Top", "Long-Sleeve Tee"),
             APPAREL_SIZES, (15, 70), ("everyday", "summer", "hiking", "trail running", "travel"),
             ("cotton", "organic cotton", "merino wool", "polyester"),
             ("quick-dry", "odor control", "UPF 50", "relaxed fit", "slim fit")),
    Category("shirts", "Shirts", ("Flannel Shirt", "Hiking Shirt", "Button-Down", "Travel Shirt"),
             APPAREL_SIZES, (35, 110), ("hiking", "travel", "everyday", "camping"),
             ("cotton", "nylon", "linen blend", "flannel"),
             ("vented back", "roll-up sleeves", "UPF 40", "wrinkle resistant")),
    Category("hoodies", "Hoodies & Sweatshirts", ("Hoodie", "Pullover Hoodie", "Crewneck Sweatshirt", "Zip Hoodie"),
             APPAREL_SIZES, (40, 120), ("everyday", "camping", "travel", "winter"),
             ("cotton fleece", "organic cotton", "recycled cotton"),
             ("kangaroo pocket", "brushed interior", "relaxed fit")),
    Category("pants", "Pants",
             ("Hiking Pants", "Convertible Pants", "Climbing Pants", "Joggers", "Rain Pants", "Ski Pants"),
             APPAREL_SIZES, (45, 220), ("hiking", "climbing", "rain", "skiing", "travel", "commuting"),
             ("nylon", "stretch nylon", "softshell", "cotton canvas"),
             ("zip-off legs", "articulated knees", "water repellent", "gusseted crotch", "cargo pockets")),
    Category("shorts", "Shorts", ("Hiking Shorts", "Running Shorts", "Cargo Shorts", "Board Shorts"),
             APPAREL_SIZES, (25, 80), ("hiking", "trail running", "summer", "travel"),
             ("nylon", "polyester", "cotton twill"),
             ("built-in liner", "quick-dry", "zip pocket", "stretch")),
    Category("base-layers", "Base Layers", ("Base Layer Top", "Base Layer Bottoms", "Thermal Crew", "Merino Leggings"),
             APPAREL_SIZES, (30, 130), ("skiing", "winter", "hiking", "backpacking"),
             ("merino wool", "synthetic", "merino blend"),
             ("odor resistant", "flatlock seams", "midweight", "lightweight")),
    Category("hiking-boots", "Hiking Boots", ("Hiking Boot", "Mid Hiker", "Backpacking Boot", "Winter Boot"),
             SHOE_SIZES, (90, 320), ("hiking", "backpacking", "winter", "travel"),
             ("leather", "nubuck", "synthetic mesh"),
             ("waterproof", "Vibram outsole", "ankle support", "insulated", "wide fit")),
    Category("trail-shoes", "Trail Running Shoes", ("Trail Runner", "Trail Shoe", "Approach Shoe"),
             SHOE_SIZES, (80, 190), ("trail running", "hiking", "climbing"),
             ("synthetic mesh", "knit upper"),
             ("rock plate", "grippy lugs", "waterproof", "cushioned", "zero drop")),
    Category("sneakers", "Sneakers", ("Sneaker", "Everyday Sneaker", "Slip-On", "Court Shoe"),
             SHOE_SIZES, (55, 160), ("everyday", "commuting", "travel"),
             ("canvas", "leather", "knit"),
             ("cushioned", "lightweight", "recycled sole")),
    Category("sandals", "Sandals", ("Sport Sandal", "Flip-Flop", "Hiking Sandal"),
             SHOE_SIZES, (25, 130), ("summer", "travel", "hiking"),
             ("webbing", "leather", "EVA foam"),
             ("adjustable straps", "quick-dry", "contoured footbed")),
    Category("socks", "Socks", ("Hiking Socks", "Running Socks", "Ski Socks", "Crew Socks"),
             SOCK_SIZES, (12, 35), ("hiking", "trail running", "skiing", "everyday"),
             ("merino wool", "nylon blend", "cotton blend"),
             ("cushioned", "seamless toe", "lightweight")),
    Category("hats", "Hats & Beanies", ("Beanie", "Sun Hat", "Cap", "Trucker Hat", "Balaclava"),
             ONE_SIZE, (15, 60), ("winter", "summer", "hiking", "everyday", "skiing"),
             ("wool", "cotton", "polyester", "nylon"),
             ("UPF 50", "fleece lined", "adjustable")),
    Category("gloves", "Gloves & Mittens", ("Gloves", "Mittens", "Liner Gloves", "Ski Gloves"),
             APPAREL_SIZES[1:5], (20, 120), ("skiing", "winter", "climbing", "hiking"),
             ("leather", "softshell", "fleece", "synthetic insulation"),
             ("touchscreen fingertips", "waterproof", "insulated")),
    Category("backpacks", "Backpacks", ("Daypack", "Backpack", "Hydration Pack", "Travel Pack", "Hiking Pack"),
             PACK_SIZES, (40, 300), ("hiking", "backpacking", "travel", "commuting", "trail running"),
             ("ripstop nylon", "recycled polyester", "Cordura"),
             ("rain cover", "hip belt", "laptop sleeve", "hydration compatible", "ventilated back panel"),
             gendered=False),
    Category("tents", "Tents", ("Tent", "Backpacking Tent", "Dome Tent", "Ultralight Tent"),
             TENT_SIZES, (120, 650), ("camping", "backpacking"),
             ("ripstop nylon", "polyester", "silnylon"),
             ("freestanding", "two doors", "three-season", "four-season", "footprint included"),
             gendered=False),
    Category("sleeping-bags", "Sleeping Bags", ("Sleeping Bag", "Quilt", "Mummy Bag"),
             BAG_SIZES, (70, 450), ("camping", "backpacking", "winter"),
             ("down", "synthetic insulation"),
             ("compression sack", "draft collar", "rated to 20F", "rated to 0F", "rated to 40F"),
             gendered=False),
)


@dataclass(frozen=True)
class Brand:
    """One demo brand: ``tier`` sets its price level (0 budget .. 2 premium)."""

    slug: str
    name: str
    tier: int
    style: str


BRANDS: tuple[Brand, ...] = (
    Brand("alpine-crest", "Alpine Crest", 2, "technical"),
    Brand("summit-line", "Summit Line", 2, "technical"),
    Brand("granite-peak", "Granite Peak", 1, "technical"),
    Brand("kestrel", "Kestrel", 1, "technical"),
    Brand("northbound", "Northbound", 1, "classic"),
    Brand("cedar-and-pine", "Cedar & Pine", 1, "classic"),
    Brand("ironwood", "Ironwood", 2, "classic"),
    Brand("fjell", "Fjell", 2, "urban"),
    Brand("urban-trail", "Urban Trail", 1, "urban"),
    Brand("lumen", "Lumen", 0, "urban"),
    Brand("driftwood", "Driftwood", 0, "casual"),
    Brand("basecamp-basics", "Basecamp Basics", 0, "casual"),
    Brand("trailhead", "Trailhead", 0, "casual"),
    Brand("sierra-loft", "Sierra Loft", 1, "casual"),
    Brand("tundra", "Tundra", 1, "technical"),
    Brand("blue-ridge-supply", "Blue Ridge Supply", 0, "classic"),
)

CATEGORY_BY_SLUG: dict[str, Category] = {c.slug: c for c in CATEGORIES}
BRAND_BY_SLUG: dict[str, Brand] = {b.slug: b for b in BRANDS}

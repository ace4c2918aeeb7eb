"""What a shopper's question about one product asks, read from its words.

:func:`read_question` turns "will it keep me dry in heavy rain?" into
``Asked(topic="feature", feature="waterproof")``, "does it run small?" into
``Asked(topic="fit")`` and "any 10s left?" into ``Asked(topic="stock", size="10")``.
Plain tables of words, no model: the answer is then built from the product's own data
(:mod:`shop.services.product_answers`), so a question is answered from the field it is
about, or honestly not at all.

Topics, in the order they are tried:

- ``unanswerable``: what product data never holds (washing and care, where it is made,
  waterproof ratings in mm, fill power, dimensions, restock dates, vegan, battery);
- ``stock``: a size or colour asked for ("in M?", "any 10s left?", "XXL in stock?");
- ``feature``: a listed feature, by its name or a shopper's way of saying it ("keep
  me dry" → waterproof, "phone screen" → touchscreen fingertips, "hood" → hooded);
- ``fit``: fit and sizing ("run small", "true to size", "roomy", "wide feet");
- ``weight``, ``material``, ``price``, ``rating``, ``warranty``;
- ``use``: an activity ("trail run", "commute", "backpacking", "via ferrata");
- ``season``: weather and seasons ("warm enough for snow" → winter, "heatwave" → summer,
  "which season") as ``season_asked`` ("winter"/"summer") or the season itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# words that mean a listed feature (values are the catalog's feature names)
FEATURE_WORDS: tuple[tuple[str, str], ...] = (
    (r"rain ?cover", "rain cover"),
    (r"water ?proof|keep (me|my \w+|you|them|it) dry|stay dry|(heavy |the |pouring )?rain\b|downpour|soaked|"
     r"wet (grass|weather|conditions)|puddles?|drizzle|storm", "waterproof"),
    (r"water[- ]repellent|dwr\b|shed (light )?rain", "water repellent"),
    (r"wind ?proof|block(s)? (the )?wind|windy\b|gusts?\b", "windproof"),
    (r"\bhood(ed)?\b", "hooded"),
    (r"pack(s|able)? (down|away|small|into)|packable|stuff (it )?(into|in) (its|a) pocket", "packable"),
    (r"breathab|sweaty? (inside|in it)|let (my )?sweat out", "breathable"),
    (r"pit ?zips?|underarm (vents?|zips?)|armpit vents?", "pit zips"),
    (r"touch ?screen|phone( screen)?|texting|swipe", "touchscreen fingertips"),
    (r"hip ?belt|waist ?belt", "hip belt"),
    (r"laptop", "laptop sleeve"),
    (r"bladder|hydration|water reservoir|drinking tube", "hydration compatible"),
    (r"(back ?panel|back) .*(vent|air|breath)|ventilated back|sweaty back|back (always )?gets sweaty",
     "ventilated back panel"),
    (r"vents? (on|in) the back|back .*vents?|vented back", "vented back"),
    (r"free ?standing|without (guy ?lines|stakes|pegs)", "freestanding"),
    (r"two doors|2 doors|second door|climb over", "two doors"),
    (r"footprint|ground ?sheet", "footprint included"),
    (r"four[- ]?season|4[- ]?season|winter mountaineering|mountaineering", "four-season"),
    (r"three[- ]?season|3[- ]?season", "three-season"),
    (r"compression sack|stuff sack|compress(ion)?", "compression sack"),
    (r"draft collar|draught collar|neck baffle", "draft collar"),
    (r"\b0 ?f\b|\b0 ?°|zero degrees|0 degrees", "rated to 0F"),
    (r"\b20 ?f\b|20 degrees", "rated to 20F"),
    (r"\b40 ?f\b|40 degrees", "rated to 40F"),
    (r"zip[- ]?off|convertible|turn into shorts|into shorts", "zip-off legs"),
    (r"articulated knees?", "articulated knees"),
    (r"gusset", "gusseted crotch"),
    (r"cargo pockets?", "cargo pockets"),
    (r"vibram", "Vibram outsole"),
    (r"ankle support|roll my ankles?|support my ankles?", "ankle support"),
    (r"rock ?plate", "rock plate"),
    (r"lugs\b|grip(py)?\b|traction", "grippy lugs"),
    (r"zero[- ]?drop|heel drop", "zero drop"),
    (r"cushion(ed|ing)?|padded|padding", "cushioned"),
    (r"liner\b(?! gloves)|built[- ]in (liner|brief)", "built-in liner"),
    (r"zip(ped|per)? pocket|pocket .*zip|pocket for my keys", "zip pocket"),
    (r"thumb ?(loops?|holes?)", "thumb loops"),
    (r"full[- ]?zip|zips? all the way", "full zip"),
    (r"stretch(y|es)?", "stretch"),
    (r"odou?r|stink|smell", "odor control"),
    (r"upf|uv\b|sun protection|sunburn", "UPF 50"),
    (r"quick[- ]?dry|dr(y|ies) (fast|quickly)|fast[- ]drying", "quick-dry"),
    (r"roll[- ]?up|roll (them|the sleeves) up|sleeves? .*roll", "roll-up sleeves"),
    (r"wrinkle|crease", "wrinkle resistant"),
    (r"kangaroo|front (pouch|pocket)|pouch pocket", "kangaroo pocket"),
    (r"brushed|soft (on the )?inside", "brushed interior"),
    (r"flat ?lock|flat seams|seams .*(rub|flat)", "flatlock seams"),
    (r"seamless", "seamless toe"),
    (r"fleece[- ]lined|lined with fleece", "fleece lined"),
    (r"adjustable straps?|straps? .*adjust|adjust .*straps?", "adjustable straps"),
    (r"adjust(able)?", "adjustable"),
    (r"footbed|arch support|contoured", "contoured footbed"),
    (r"recycled (sole|rubber)|sole .*recycled", "recycled sole"),
    (r"insulat", "insulated"),
    (r"wide fit", "wide fit"),
    (r"mid ?weight", "midweight"),
    (r"light ?weight", "lightweight"),
)
# features whose name also names a similar feature in other categories
FEATURE_ALIASES: dict[str, tuple[str, ...]] = {
    "odor control": ("odor control", "odor resistant"),
    "UPF 50": ("UPF 50", "UPF 40"),
    "vented back": ("vented back", "ventilated back panel"),
    "ventilated back panel": ("ventilated back panel", "vented back"),
    "adjustable": ("adjustable", "adjustable straps"),
    "adjustable straps": ("adjustable straps", "adjustable"),
}
UNANSWERABLE = re.compile(
    r"\b(wash|washing|washable|machine|dryer|tumble|iron(ing)?|bleach|clean(ing)?|hose (it )?down|dry ?clean|care "
    r"(for|instructions)|where (is|are) (it|they|this|these) (made|manufactured|from)|made in|manufactured|country|"
    r"factory|origin|sourced|hydrostatic|\d+ ?mm\b|in mm|fill ?power|denier|r-?value|vegan|animal|cruelty|battery|"
    r"dimensions?|how (big|long|tall|wide) (is|are)|packed size|volume|how many (liters|litres)|capacity|restock|"
    r"back in stock|celebrit|famous|recycl(ed|able) (packaging|box)|gift ?wrap|stor(e|ing|age)|pfc|pfas|chemicals?|"
    r"coating|treatment|toxic|repair|spare parts?)\b", re.I)
STOCK = re.compile(r"\b(in stock|stock|available|availability|have (it|them|this|these|one|any|an?)|left|sold out|"
                   r"do you have|got (it|any)|come in|comes in|get it in|order it in)\b", re.I)
SIZE_TOKEN = (r"xxxl|xxl|xxs|xs|xl|one size|s|m|l|small|medium|large|extra large|regular|long|"  # noqa: S105  - a regex, not a password
              r"\d-person|\d{1,2}(?:\.5)?")
SIZE_PATTERNS = (
    re.compile(rf"\bsize\s+({SIZE_TOKEN})\b", re.I),
    re.compile(rf"\b(?:in|an?|any|got|have)\s+(?:an?\s+)?({SIZE_TOKEN})s?\b(?!\s*(?:fit|weather|day|feet|hike|rain|"
               r"winter|summer|cut))", re.I),
    re.compile(rf"^\s*({SIZE_TOKEN})\s+(?:in stock|available|left)\b", re.I),
    re.compile(rf"\b({SIZE_TOKEN})s?\s+(?:in stock|available|left)\b", re.I),
)
SIZE_NAMES = {"small": "S", "medium": "M", "large": "L", "extra large": "XL"}
FIT = re.compile(r"\b(fit|fits|fitting|sizing|size chart|sizes? (run|come up)|"
                 r"run(s)? (small|big|large|narrow|wide|true)|true to size|size (up|down)|"
                 r"between sizes|cut\b|roomy|baggy|loose|tight|snug|slim|relaxed|athletic|wide feet|narrow feet|"
                 r"wide|narrow|big thighs|skin[- ]?tight)", re.I)
WEIGHT = re.compile(r"\b(weigh|weighs|weight|heavy|heavier|heaviness|grams?|ounces?|oz|pounds?|lbs?|"
                    r"light(?! (rain|showers?|drizzle|colou?r|blue|grey|gray|green|brown)))\b", re.I)
MATERIAL = re.compile(r"\b(made of|made from|made out of|material|fabric|leather|synthetic|cotton|wool|merino|"
                      r"down|nylon|polyester|cordura|gore-?tex|canvas|linen|flannel|fleece|silnylon|mesh|knit|"
                      r"nubuck|suede|rubber|eva|webbing|what.{0,10}\bmade\b)", re.I)
PRICE = re.compile(r"\b(price|cost|costs|how much|on sale|sale|discount(ed)?|deal|damage|expensive|cheap|pricey|"
                   r"dollars|\$)", re.I)
RATING = re.compile(r"\b(ratings?|rated|rate|reviews?|reviewed|stars?|do (people|others|customers|campers|hikers) "
                    r"(like|rate|think|say))\b", re.I)
RATING_WEAK = re.compile(r"\b(any good|worth it|well liked|popular|good quality|quality)\b", re.I)
WARRANTY = re.compile(r"\b(warrant(y|ies)|guarantee[ds]?)\b", re.I)
USE_WORDS: tuple[tuple[str, str], ...] = (
    (r"trail ?run|run(ning)? (on )?trails|running|\bjog|\brun\b|marathon|ultra", "trail running"),
    (r"backpack(ing)?\b(?! pack)|multi-?day|thru-?hik|several nights|few nights|week-long", "backpacking"),
    (r"hik(e|es|ing)|trek|walks? in the hills|hill ?walk|day hikes?|fell walk", "hiking"),
    (r"camp(ing|site|er|ers)?\b|festival", "camping"),
    (r"ski(ing|s)?\b|slopes|snowboard|ski boots", "skiing"),
    (r"commut|office|to work|cycle to|bike to", "commuting"),
    (r"travel|trip|flight|flights|vacation|holiday|europe|suitcase|airport", "travel"),
    (r"climb|boulder|via ferrata|crag", "climbing"),
    (r"every ?day|daily|casual|around town|errands|day to day", "everyday"),
)
GENERIC_USES = frozenset({"travel", "everyday"})
COLD = re.compile(r"\b(winter|cold|warm(?! weather)|warmth|freezing|frigid|below (freezing|zero)|snow\w*|"
                  r"sub-?zero|icy|ice|warm enough|"
                  r"keep (me|my \w+) warm|toes warm|is it warm|actually warm|cozy|cosy|january|december|february|"
                  r"february|feb\b|jan\b|frost)", re.I)
HOT = re.compile(r"\b(summer|hot|heat\w*|humid|scorching|sun|sunny|beach|tropical|august|july|warm weather)\b", re.I)
SEASON = re.compile(r"\b(season|seasonal|year[- ]round|all year|time of year|spring|autumn|fall)\b", re.I)


@dataclass(frozen=True)
class Asked:
    """What a question asks: ``topic``, and the ``feature``, ``use``, ``size`` or
    ``season_asked`` (``"winter"``/``"summer"``) it names."""

    topic: str
    feature: str | None = None
    use: str | None = None
    size: str | None = None
    season_asked: str | None = None


def asked_size(text: str) -> str | None:
    """The size a shopper asks for ("in M", "any 10s left", "XXL in stock?"), or ``None``."""
    for pattern in SIZE_PATTERNS:
        match = pattern.search(text)
        if match:
            word = match.group(1).lower()
            return SIZE_NAMES.get(word, match.group(1).upper() if not word[0].isdigit() else match.group(1))
    return None


def read_question(question: str, *, size: str | None = None, colour: str | None = None) -> Asked | None:
    """What ``question`` asks about one product (see the module docstring), or ``None``
    for a question these tables don't read (the LLM, with all the facts, may still)."""
    text = re.sub(r"\s+", " ", (question or "").lower()[:500])
    if UNANSWERABLE.search(text):
        return Asked("unanswerable")
    # product names are not the features they contain ("the rain pants", "the winter boots")
    plain = re.sub(r"\b(rain|winter|summer|ski|hiking|running|trail|sun|down|waterproof|insulated) "
                  r"(jacket|pants|shell|coat|boots?|gloves|shoes?|hat|socks|parka|trousers|runners?)s?\b", r"\2", text)
    fit_asked = bool(FIT.search(text)) and not re.search(r"\bwide fit\b", text)
    if not fit_asked or STOCK.search(text):
        wanted = asked_size(text) or (None if fit_asked else size)
        if (wanted or colour) and (STOCK.search(text) or len(text.split()) <= 4):
            return Asked("stock", size=wanted)
        if STOCK.search(text) and not re.search(r"\b(warm|dry|good|ok)\b", text) and re.search(
                r"\b(in stock|available|sold out|left)\b", text):
            return Asked("stock", size=wanted)
    for pattern, feature in FEATURE_WORDS:
        if re.search(rf"\b(?:{pattern})", plain):
            if feature == "stretch" and MATERIAL.search(text):
                return Asked("material")
            if feature == "lightweight" and WEIGHT.search(text) and "lightweight" not in text:
                break
            if feature in ("insulated",) and COLD.search(text) and "insulat" not in text:
                break
            return Asked("feature", feature=feature)
    if fit_asked:
        return Asked("fit")
    if WEIGHT.search(text):
        return Asked("weight")
    if SEASON.search(text) and not COLD.search(text) and not HOT.search(text):
        return Asked("season")
    if MATERIAL.search(text):
        return Asked("material")
    if WARRANTY.search(text):
        return Asked("warranty")
    if RATING.search(text):
        return Asked("rating")
    uses = [use for pattern, use in USE_WORDS if re.search(rf"\b(?:{pattern})", text)]
    activities = [u for u in uses if u not in GENERIC_USES]
    if activities:
        return Asked("use", use=activities[0])
    if COLD.search(text):  # the weather of a trip tells more than the trip ("beach holiday in august")
        return Asked("season", season_asked="winter")
    if HOT.search(text):
        return Asked("season", season_asked="summer")
    if uses:
        return Asked("use", use=uses[0])
    if SEASON.search(text):
        return Asked("season")
    if RATING_WEAK.search(text):
        return Asked("rating")
    if PRICE.search(text):
        return Asked("price")
    return None

"""Words the customer and order generators draw from: names, cities, streets, carriers
and country calling codes."""

from __future__ import annotations

FIRST_NAMES = {
    "men": ("James", "Michael", "David", "Daniel", "Matthew", "Ryan", "Ethan", "Noah", "Liam",
            "Lucas", "Oliver", "Samuel", "Benjamin", "Jacob", "Henry", "Owen", "Leo", "Mateo",
            "Marcus", "Tyler", "Aaron", "Nathan", "Felix", "Jonas", "Lars", "Pierre", "Tom",
            "Omar", "Raj", "Kenji"),
    "women": ("Emma", "Olivia", "Sophia", "Ava", "Isabella", "Mia", "Charlotte", "Amelia",
              "Harper", "Ella", "Grace", "Chloe", "Lily", "Zoe", "Hannah", "Nora", "Maya",
              "Sara", "Julia", "Elena", "Freya", "Clara", "Ingrid", "Camille", "Aisha",
              "Priya", "Yuki", "Lucia", "Megan", "Rachel"),
}
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
    "Lopez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter",
    "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy",
    "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly",
    "Howard", "Ward", "Cox", "Fischer", "Schmidt", "Dubois", "Jansen", "Lindqvist", "O'Brien",
    "Nakamura", "Patel", "Kim", "Nguyen", "Silva", "Rossi",
)
# (city, country code, postcode prefix, weight)
CITIES: tuple[tuple[str, str, str, float], ...] = (
    ("New York", "US", "100", 8), ("Los Angeles", "US", "900", 6), ("Chicago", "US", "606", 5),
    ("Seattle", "US", "981", 6), ("Denver", "US", "802", 6), ("Portland", "US", "972", 5),
    ("Boston", "US", "021", 4), ("Austin", "US", "787", 4), ("San Francisco", "US", "941", 5),
    ("Salt Lake City", "US", "841", 4), ("Minneapolis", "US", "554", 3), ("Atlanta", "US", "303", 3),
    ("Vancouver", "CA", "V6B", 4), ("Toronto", "CA", "M5V", 4), ("Calgary", "CA", "T2P", 3),
    ("Montreal", "CA", "H2X", 2), ("London", "GB", "SE1", 5), ("Manchester", "GB", "M1", 2),
    ("Edinburgh", "GB", "EH1", 2), ("Bristol", "GB", "BS1", 1.5), ("Berlin", "DE", "10", 2.5),
    ("Munich", "DE", "80", 2), ("Paris", "FR", "750", 2), ("Lyon", "FR", "690", 1),
    ("Amsterdam", "NL", "10", 2), ("Dublin", "IE", "D0", 1.5), ("Stockholm", "SE", "11", 1.5),
    ("Innsbruck", "AT", "60", 1),
)
STREET_NAMES = ("Maple", "Oak", "Cedar", "Pine", "Elm", "Alder", "Birch", "Willow", "Lake",
                "Hill", "Park", "River", "Spruce", "Aspen", "Laurel", "Union", "Mill", "Church")
LOCAL_STREETS = {
    "DE": ("Linden", "Berg", "Garten", "Schiller", "Goethe", "Wald", "Hafen"),
    "AT": ("Linden", "Berg", "Garten", "Museum", "Anich", "Maria-Theresien"),
    "FR": ("de la Paix", "Victor Hugo", "des Lilas", "du Moulin", "Saint-Michel", "de la Gare"),
    "NL": ("Prinsen", "Keizers", "Heren", "Linden", "Rozen", "Bloem"),
    "SE": ("Drottning", "Kungs", "Sveavägen", "Horns", "Götgatan"),
}
CARRIERS = {
    "US": ("UPS", "USPS", "FedEx"), "CA": ("Canada Post", "UPS"), "GB": ("Royal Mail", "DPD"),
    "IE": ("An Post", "DHL"), "DE": ("DHL", "DPD"), "AT": ("DHL", "DPD"), "FR": ("DHL", "DPD"),
    "NL": ("DHL", "DPD"), "SE": ("DHL", "DPD"),
}
COUNTRY_CALLING = {"US": "1", "CA": "1", "GB": "44", "IE": "353", "DE": "49", "AT": "43",
                   "FR": "33", "NL": "31", "SE": "46"}

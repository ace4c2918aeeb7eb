"""The vocabulary of the invented marketplace catalog (:mod:`tools.search_eval.marketplace`).

Every title word here is invented or generic; nothing is copied from a real export. The
*shape* is a large general marketplace's: about 20 departments (main categories) and
about 110 sub-categories whose vocabularies overlap on purpose ("Men's Shoes",
"Sports Shoes", "Casual Shoes", "Running" and "Shoes" all sell shoes; "Headphones" and
"Speakers" both sell "wireless bluetooth" things; "All Electronics" sells everything
its department sells), plus catch-all and storefront sub-categories ("Value Bazaar",
"Refurbished & Open Box") whose products look like anyone's.

A sub-category is written as one :class:`Sub`:

- ``kinds``: product nouns ("Split AC|Window AC"); a title holds one of them, often not
  the category's own words (an "Air Conditioners" title says "Split AC");
- ``specs``/``feats``: spec and feature fragments; ``{a|b|c}`` picks one, ``{3-9}`` a
  number in the range;
- ``aud``: audience prefixes ("Men's|Women's"), empty for none;
- ``borrow``: sub-categories (or ``@department``) whose products this one also lists,
  and ``catch``: the share of its listings borrowed (catch-alls: most).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sub:
    name: str
    kinds: str
    specs: str = ""
    feats: str = ""
    aud: str = ""
    borrow: tuple[str, ...] = ()
    catch: float = 0.0


MEN, WOMEN, KIDS = "Men's|Mens", "Women's|Womens", "Boys|Girls|Kids|Baby Boys|Baby Girls"
ANY = "Men's|Women's|Unisex|Unisex Adult"

DEPARTMENTS: dict[str, tuple[Sub, ...]] = {
    "appliances": (
        Sub("Air Conditioners", "Split AC|Inverter Split AC|Window AC|Portable AC|Dual Inverter AC",
            "{0.8|1|1.5|2} Ton|{3|4|5} Star|Copper Condenser|{2023|2024} Model|Wi-Fi Enabled|Convertible {4|5|6}-in-1",
            "Anti-Viral Filter|Turbo Cooling|Auto Clean|Low Gas Detection|Stabilizer Free Operation|Sleep Mode",
            borrow=("Heating & Cooling Appliances",), catch=0.1),
        Sub("Refrigerators", "Frost Free Double Door Refrigerator|Single Door Fridge|Side by Side Refrigerator|"
            "Direct Cool Refrigerator|Triple Door Fridge|Mini Fridge",
            "{180|190|240|265|308|350|580} L|{2|3|4|5} Star|Inverter Compressor|Convertible Freezer|"
            "Base Stand Drawer", "Toughened Glass Shelves|Fast Ice Making|Digital Display|Vegetable Crisper"),
        Sub("Washing Machines", "Fully Automatic Front Load Washing Machine|Semi Automatic Top Load Washing Machine|"
            "Top Loading Washer|Washer Dryer|Front Loader",
            "{6|6.5|7|8|9|10} Kg|{5|5.5} Star|{1000|1200|1400} RPM|Inbuilt Heater|{10|14|15} Wash Programs",
            "Steam Wash|Hygiene Tub Clean|Quick Wash|Child Lock|Smart Diagnosis"),
        Sub("Heating & Cooling Appliances", "Room Heater|Air Cooler|Oil Filled Radiator|Pedestal Fan|Ceiling Fan|"
            "Tower Fan|Geyser|Water Heater|Desert Cooler|Fan Heater",
            "{800|1200|2000|2500} Watts|{15|25|35|55|70} L Tank|{3|5} Star|{1200|1400} mm Sweep|{3|5|6} Speed",
            "Remote Control|Honeycomb Pads|Overheat Protection|Silent Operation|Rust Free Body|Auto Swing"),
        Sub("Kitchen & Home Appliances", "Mixer Grinder|Electric Kettle|Induction Cooktop|Air Fryer|Juicer Mixer|"
            "Microwave Oven|Hand Blender|Sandwich Maker|Toaster|Water Purifier|Vacuum Cleaner|Steam Iron|"
            "Dry Iron|Rice Cooker|Chimney|OTG Oven",
            "{500|750|1000|1500|2000} Watt|{1|1.5|1.8} L|{3|4} Jars|{20|23|28} L|{5|7|8} Stage Purification",
            "Auto Shut Off|Stainless Steel Body|Overload Protection|Non-Stick Coating|Digital Timer"),
        Sub("All Appliances", "Appliance Combo|Home Appliance|Cooling Appliance", "{2|3} Year Warranty",
            "Energy Saving|Easy Installation", borrow=("@appliances",), catch=0.9),
    ),
    "tv, audio & cameras": (
        Sub("Televisions", "Smart LED TV|Android TV|Ultra HD 4K Smart TV|QLED TV|Full HD LED Smart TV|"
            "Google TV|OLED Television|HD Ready LED TV",
            "{32|40|43|50|55|65|75} inch|{80|108|109|126|139|164} cm|{20|24|30|40} W Output|{60|120} Hz|"
            "{2|3} HDMI Ports|{2023|2024} Model", "Dolby Audio|Voice Remote|Screen Mirroring|HDR10|Bezel-less Design"),
        Sub("Headphones", "Bluetooth Headphones|Wireless Earbuds|TWS Earbuds|Over Ear Headphones|Neckband|"
            "Wired Earphones|In Ear Headphones|Gaming Headset|On Ear Headphones",
            "Up to {20|30|40|50|60|100} Hours Playtime|{10|13|40} mm Drivers|Bluetooth {5.0|5.2|5.3}|IPX{4|5|7}|"
            "ENC Mic", "Active Noise Cancellation|Fast Charging|Deep Bass|Low Latency Gaming Mode|Dual Pairing",
            borrow=("Speakers",), catch=0.05),
        Sub("Speakers", "Bluetooth Speaker|Portable Wireless Speaker|Smart Speaker|Party Speaker|Soundbar|"
            "Computer Speakers|Tower Speaker|Mini Speaker",
            "{5|10|14|16|20|40|60|100} W Output|Up to {8|10|12|24} Hours Playback|Bluetooth {5.0|5.3}|"
            "IPX{5|6|7} Water Resistant", "Deep Bass|TWS Pairing|RGB Lights|Built-in Mic|Voice Assistant",
            borrow=("Headphones", "Home Audio & Theater"), catch=0.1),
        Sub("Home Audio & Theater", "Home Theatre System|Soundbar with Subwoofer|Multimedia Speaker System|"
            "AV Receiver|Dolby Atmos Soundbar|Tower Speaker",
            "{2.1|4.1|5.1|7.1} Channel|{80|120|160|300|500} W|Wireless Subwoofer|HDMI ARC|Optical Input",
            "Dolby Digital|Karaoke Mic Input|FM Radio|Remote Control", borrow=("Speakers",), catch=0.2),
        Sub("Home Entertainment Systems", "Streaming Stick|Projector|Set Top Box|Media Player|Mini Projector|"
            "Smart Projector", "{1080|4K|720}p|{3000|5000|8000} Lumens|{100|120|150} inch Screen|Wi-Fi|HDMI",
            "Keystone Correction|Built-in Speaker|Screen Mirroring|Voice Remote",
            borrow=("Televisions",), catch=0.15),
        Sub("Cameras", "Mirrorless Camera|DSLR Camera|Digital Camera|Instant Camera|Action Camera|Point and Shoot "
            "Camera|Vlogging Camera", "{16|20|24|32|45} MP|{4K|5.3K} Video|{18-55|15-45|70-300} mm Lens|"
            "{10|20|30|50}x Optical Zoom|Wi-Fi|Vari-Angle Touchscreen",
            "Image Stabilisation|Eye Autofocus|Waterproof Body|Burst Shooting"),
        Sub("Camera Accessories", "Camera Tripod|Camera Bag|Memory Card|Camera Lens|Ring Light|Lens Filter|"
            "Gimbal Stabilizer|Camera Battery|Lens Cleaning Kit",
            "{64|128|256} GB|{55|60|65|70} inch Tripod|{10|12|18} inch Ring Light|UHS-I|{49|52|58} mm",
            "Compatible with DSLR and Mirrorless Cameras|Bluetooth Remote|Padded Dividers|Quick Release Plate"),
        Sub("Security Cameras", "WiFi Security Camera|CCTV Camera|Dome Camera|Bullet Camera|Smart Home Camera|"
            "Outdoor Camera|Video Doorbell", "{2|3|4|5} MP|{1080p|2K|3K} Full HD|360 Degree|Night Vision "
            "{10|15|30} m", "Two-Way Talk|Motion Detection|Cloud and SD Card Storage|Weatherproof IP66"),
        Sub("All Electronics", "Electronics Gadget|Smart Device|Gadget Combo", "1 Year Warranty",
            "Latest Model|Gift Pack", borrow=("@tv, audio & cameras", "@computers & accessories"), catch=0.9),
    ),
    "computers & accessories": (
        Sub("Laptops", "Thin and Light Laptop|Gaming Laptop|2-in-1 Laptop|Chromebook|Notebook|Business Laptop",
            "{Intel Core i3|Intel Core i5|Intel Core i7|Ryzen 5|Ryzen 7} Processor|{8|16|32} GB RAM|"
            "{256|512} GB SSD|{14|15.6|16} inch FHD|Windows 11",
            "Backlit Keyboard|Fingerprint Reader|MS Office|Fast Charge"),
        Sub("Monitors", "LED Monitor|Gaming Monitor|Curved Monitor|IPS Monitor|Ultrawide Monitor",
            "{22|24|27|32|34} inch|{75|144|165|240} Hz|{1|4|5} ms|{FHD|QHD|4K}|HDMI and VGA",
            "Eye Care|Frameless Design|AMD FreeSync|Height Adjustable Stand"),
        Sub("Keyboards & Mice", "Wireless Keyboard and Mouse Combo|Gaming Mouse|Mechanical Keyboard|Wireless Mouse|"
            "Bluetooth Keyboard|Ergonomic Mouse", "{1600|3200|7200|12000} DPI|{104|87} Keys|2.4 GHz|USB Receiver",
            "RGB Backlight|Silent Clicks|Spill Resistant|Rechargeable"),
        Sub("Computer Accessories", "Laptop Stand|USB Hub|Pen Drive|External Hard Drive|Laptop Bag|Webcam|"
            "Mouse Pad|Cooling Pad|HDMI Cable", "{32|64|128|256} GB|{1|2} TB|USB {3.0|3.2}|Type C|{4|7} Port",
            "Plug and Play|Aluminium Body|Foldable|Anti-Slip"),
        Sub("Printers & Ink", "Ink Tank Printer|Laser Printer|All in One Printer|Ink Cartridge|Toner Cartridge",
            "Print Scan Copy|Wi-Fi|Duplex|{1000|6000|7500} Pages", "Mobile Printing|High Yield|Borderless Printing"),
    ),
    "mobiles": (
        Sub("Smartphones", "5G Smartphone|Android Smartphone|Mobile Phone|Smart Phone",
            "{4|6|8|12} GB RAM|{64|128|256} GB Storage|{50|64|108|200} MP Camera|{5000|6000} mAh Battery|"
            "{6.5|6.6|6.7} inch AMOLED", "Fast Charging|In-Display Fingerprint|Dual SIM|120Hz Display"),
        Sub("Mobile Accessories", "Back Cover|Tempered Glass|Mobile Charger|Type C Cable|Car Mount|Phone Stand|"
            "Selfie Stick", "{20|25|33|65} W|{1|1.5|2} m|Compatible with {Galaxy|Redmi|iPhone|OnePlus} Models",
            "Shockproof|Fast Charging|Braided|Anti-Scratch"),
        Sub("Power Banks", "Power Bank|Wireless Power Bank|Magnetic Power Bank|Slim Power Bank",
            "{10000|20000|27000} mAh|{12|20|22.5|65} W|Triple Output|Type C PD",
            "Fast Charging|Lithium Polymer|LED Indicator|Compact Design"),
        Sub("Smartwatches", "Smart Watch|Fitness Band|Bluetooth Calling Smartwatch|Smart Ring",
            "{1.39|1.69|1.83|1.96} inch Display|{100|120} Sports Modes|Up to {7|10|15} Days Battery|IP68",
            "SpO2 Monitor|Heart Rate Tracking|AI Voice Assistant|Always On Display",
            borrow=("Watches", "Fitness Accessories"), catch=0.1),
    ),
    "car & motorbike": (
        Sub("Car Accessories", "Car Seat Cover|Car Floor Mat|Steering Wheel Cover|Car Perfume|Car Sun Shade|"
            "Car Body Cover|Neck Rest Pillow|Car Organizer", "Universal Fit|Compatible with {Swift|Creta|City|Nexon|"
            "XUV700} |{3|4|5} Piece Set|Waterproof", "Anti-Skid|Premium Leatherette|Easy to Install|Dustproof",
            borrow=("Car & Bike Care", "Car Electronics"), catch=0.1),
        Sub("Car Electronics", "Car Stereo|Dash Cam|Car Charger|Car Bluetooth Receiver|Car Vacuum Cleaner|"
            "Tyre Inflator|Reverse Parking Camera|Car Speakers", "{12|24} V|{2|4} Channel|{1080p|2K|4K}|"
            "{120|150} PSI|Dual USB|{6.5|7|9} inch Touchscreen", "Night Vision|Loop Recording|Digital Gauge|"
            "Fast Charging", borrow=("Car Accessories",), catch=0.1),
        Sub("Car Parts", "Wiper Blade|Brake Pad|Air Filter|Headlight Bulb|Spark Plug|Horn|Fog Lamp|Car Battery",
            "{14|16|18|22|24} inch|{12|24} V|{55|60|100} W|Compatible with {Swift|i20|City|Innova}",
            "OEM Quality|Long Life|High Performance|Plug and Play", borrow=("Motorbike Accessories & Parts",),
            catch=0.05),
        Sub("Car & Bike Care", "Car Shampoo|Microfiber Cloth|Dashboard Polish|Wax Polish|Tyre Shine|Car Washer|"
            "Pressure Washer|Glass Cleaner|Scratch Remover", "{250|500|1000} ml|{1400|1600|1800} W|{90|120|130} Bar|"
            "Pack of {2|3|4|6}", "pH Neutral|Streak Free|Extra Gloss|Lint Free"),
        Sub("Motorbike Accessories & Parts", "Bike Helmet|Riding Gloves|Bike Cover|Mobile Holder for Bike|"
            "Bike Chain Lube|Riding Jacket|Bike Indicator|Saddle Bag", "{M|L|XL|580 mm|600 mm}|ISI Certified|"
            "DOT Certified|Universal Fit", "Anti-Fog Visor|Waterproof|Reflective Strips|Shock Absorbing",
            borrow=("Car Parts",), catch=0.05),
        Sub("All Car & Motorbike Products", "Car Kit|Bike Kit|Vehicle Accessory", "Universal",
            "Combo Offer", borrow=("@car & motorbike",), catch=0.9),
    ),
    "sports, fitness & outdoors": (
        Sub("Running", "Running Shoes|Running Shorts|Running Tights|Running Belt|Running Socks|Jogging Shoes",
            "UK {6|7|8|9|10|11}|Lightweight|Breathable Mesh|Dri-Fit", "Cushioned Sole|Reflective Details|"
            "Anti-Slip Grip|Quick Dry", aud=ANY, borrow=("Sports Shoes", "Sportswear"), catch=0.2),
        Sub("Cycling", "Mountain Bike|Road Bike|Hybrid Cycle|Kids Bicycle|Cycling Helmet|Bicycle Light|"
            "Cycling Gloves|Bike Pump", "{20|24|26|27.5|29} T|{18|21|24} Speed|Disc Brakes|Alloy Frame",
            "Front Suspension|Quick Release|Rust Proof|Rechargeable"),
        Sub("Cricket", "Cricket Bat|Cricket Ball|Batting Gloves|Cricket Helmet|Batting Pads|Cricket Kit|"
            "Stumps Set", "English Willow|Kashmir Willow|Size {4|5|6|Full|SH}|Leather|Tennis Ball",
            "Full Cane Handle|Lightweight|Ventilated|Kit Bag Included"),
        Sub("Badminton", "Badminton Racket|Shuttlecock|Badminton Kit|Badminton Net|Racquet Cover|Grip Tape",
            "{75|80|85} g|Graphite|Aluminium|Pack of {2|6|10|12}|Nylon|Feather", "Strung|Head Cover Included|"
            "Durable|Tournament Grade"),
        Sub("Football", "Football|Football Shoes|Goalkeeper Gloves|Shin Guards|Football Jersey|Training Cones",
            "Size {3|4|5}|Machine Stitched|Hand Stitched|PU|Studs", "All Weather|FIFA Quality|Lightweight|Durable",
            aud=ANY),
        Sub("Yoga", "Yoga Mat|Yoga Block|Yoga Strap|Meditation Cushion|Yoga Wheel|Yoga Pants",
            "{4|6|8|10} mm|TPE|EVA|NBR|Anti-Slip", "Carry Strap Included|Eco Friendly|Sweat Resistant|Extra Thick"),
        Sub("Strength Training", "Dumbbells|Kettlebell|Weight Plates|Barbell Rod|Home Gym Set|Resistance Bands|"
            "Gym Bench|Pull Up Bar", "{2|3|5|8|10|20} kg|Pair|PVC|Cast Iron|Rubber Coated|Adjustable",
            "Anti-Slip Grip|Rust Resistant|Home Workout|Foldable", borrow=("Fitness Accessories",), catch=0.1),
        Sub("Cardio Equipment", "Treadmill|Exercise Bike|Elliptical Cross Trainer|Skipping Rope|Stepper|"
            "Rowing Machine|Spin Bike", "{2|2.5|3|4} HP|{100|110|120} kg Max User Weight|{12|15} Preset Programs|"
            "Magnetic Resistance|LCD Display", "Foldable|Auto Incline|Heart Rate Sensor|Bluetooth App"),
        Sub("Fitness Accessories", "Gym Gloves|Ab Roller|Hand Grip Strengthener|Gym Bag|Shaker Bottle|"
            "Foam Roller|Wrist Support|Knee Cap|Push Up Board", "Pack of {1|2}|{500|700|750} ml|Free Size|"
            "Adjustable", "Sweat Proof|Anti-Slip|Breathable|BPA Free",
            borrow=("Strength Training", "Yoga"), catch=0.15),
        Sub("Camping & Hiking", "Camping Tent|Sleeping Bag|Hiking Backpack|Trekking Pole|Camping Lantern|"
            "Hammock|Water Bottle|Camping Chair", "{2|3|4|6} Person|{40|50|60|75} L|Waterproof|Aluminium",
            "Lightweight|Rechargeable|Compact|UV Protection", borrow=("Rucksacks",), catch=0.1),
        Sub("Sportswear", "Track Pants|Sports T-Shirt|Joggers|Gym Shorts|Tracksuit|Sports Bra|Compression Tights",
            "Dri-Fit|Regular Fit|Slim Fit|Polyester|Lycra|Size {S|M|L|XL|XXL}", "Quick Dry|Stretchable|"
            "Zip Pockets|Moisture Wicking", aud=ANY, borrow=("Running",), catch=0.1),
        Sub("All Exercise & Fitness", "Fitness Combo|Workout Kit|Gym Equipment", "Home Gym",
            "Combo Pack", borrow=("Strength Training", "Cardio Equipment", "Fitness Accessories", "Yoga"),
            catch=0.9),
        Sub("All Sports, Fitness & Outdoors", "Sports Kit|Outdoor Gear|Sports Equipment", "Pro Series",
            "Value Pack", borrow=("@sports, fitness & outdoors",), catch=0.9),
    ),
    "home & kitchen": (
        Sub("Kitchen & Dining", "Dinner Set|Cookware Set|Pressure Cooker|Non-Stick Tawa|Kadai|Water Bottle|"
            "Lunch Box|Knife Set|Glass Set|Tea Cups|Chopping Board|Casserole",
            "Stainless Steel|Non-Stick|{3|5|7} Litre|{18|24|32|40} Pieces|Induction Base|Borosilicate Glass|"
            "Microwave Safe", "Dishwasher Safe|BPA Free|Heat Resistant|Food Grade",
            borrow=("Kitchen Storage & Containers",), catch=0.1),
        Sub("Kitchen Storage & Containers", "Airtight Container Set|Spice Rack|Kitchen Rack|Storage Jar|"
            "Lunch Box|Fridge Organizer|Dish Drainer|Masala Box", "Set of {3|6|12|18}|{500|750|1200|1800} ml|"
            "Plastic|Steel|Glass", "Airtight|BPA Free|Stackable|Space Saving", borrow=("Kitchen & Dining",),
            catch=0.1),
        Sub("Home Décor", "Wall Clock|Wall Painting|Photo Frame|Artificial Plants|Showpiece|Table Lamp|"
            "Wall Sticker|Vase|Wall Shelf|Idol", "Set of {1|3|5}|{12|16|24} inch|MDF|Ceramic|Brass|Wooden",
            "For Living Room|Gift Item|Handcrafted|Vintage Style", borrow=("Indoor Lighting",), catch=0.1),
        Sub("Home Furnishing", "Curtains|Cushion Covers|Carpet|Door Mat|Sofa Cover|Table Cover|Rug|Blinds",
            "{5|7|9} feet|Set of {2|3|5}|Polyester|Cotton|Velvet|Blackout", "Eyelet|Washable|Anti-Skid|Floral Print",
            borrow=("Bedroom Linen",), catch=0.1),
        Sub("Bedroom Linen", "Double Bedsheet|King Size Bedsheet|Comforter|Blanket|Pillow|Mattress Protector|"
            "Dohar|Quilt", "{144|180|210|300} TC|Cotton|Microfiber|Queen Size|King Size|With {2|4} Pillow Covers",
            "Soft and Breathable|All Season|Reversible|Floral", borrow=("Home Furnishing",), catch=0.1),
        Sub("Furniture", "Office Chair|Study Table|Sofa Set|Bean Bag|Bookshelf|Shoe Rack|Wardrobe|Bed|TV Unit|"
            "Computer Table", "Engineered Wood|Solid Wood|Metal|{2|3|4|5} Seater|Ergonomic|Queen Size",
            "Easy Assembly|Lumbar Support|Adjustable Height|Storage Space"),
        Sub("Home Storage", "Storage Box|Laundry Basket|Closet Organizer|Shoe Rack|Under Bed Storage|Hanger Set|"
            "Storage Rack", "Set of {2|4|6|12}|{25|40|60|75} L|Foldable|Plastic|Fabric",
            "Space Saving|Stackable|With Lid|Durable", borrow=("Kitchen Storage & Containers", "Furniture"),
            catch=0.1),
        Sub("Home Improvement", "Tool Kit|Drill Machine|Wall Putty|Door Lock|Water Tap|Shower Head|Bathroom Shelf|"
            "Screwdriver Set|Extension Board|Paint Roller", "{10|41|108|150} Pieces|{500|650|750} W|Chrome Finish|"
            "Stainless Steel|{4|6} Socket", "Rust Proof|Heavy Duty|Easy Installation|Lifetime Warranty",
            borrow=("Test, Measure & Inspect",), catch=0.1),
        Sub("Indoor Lighting", "LED Bulb|Ceiling Light|Batten Light|String Lights|Table Lamp|Wall Lamp|Smart Bulb|"
            "Night Lamp|Chandelier", "{7|9|12|15|20|22} W|B22 Base|Cool Day Light|Warm White|{2|3} Pack|Wi-Fi",
            "Energy Efficient|Dimmable|Decorative|Long Life"),
        Sub("Garden & Outdoors", "Garden Hose|Plant Pots|Watering Can|Gardening Tools Set|Seeds|Fertilizer|"
            "Bird Feeder|Solar Garden Light", "{10|15|20|30} m|Set of {3|5|10}|{1|5|10} kg|Plastic|Ceramic",
            "UV Stabilised|Weatherproof|Organic|Easy Grip", borrow=("Home Improvement",), catch=0.05),
        Sub("Household Supplies", "Detergent Powder|Liquid Detergent|Floor Cleaner|Dishwash Gel|Toilet Cleaner|"
            "Garbage Bags|Mop|Broom|Air Freshener", "{500|1000|2000} ml|{1|2|4} kg|Pack of {2|3|4}|Lemon|Lavender",
            "Kills 99.9% Germs|Streak Free|Fresh Fragrance|Biodegradable"),
        Sub("All Home & Kitchen", "Home Essentials|Kitchen Combo|Home Utility Item", "Set",
            "Value Combo", borrow=("@home & kitchen",), catch=0.9),
    ),
    "men's shoes": (
        Sub("Men's Shoes", "Shoes|Sneakers|Loafers|Boots|Slip On Shoes|Walking Shoes", "UK {6|7|8|9|10|11}|"
            "Lace Up|Synthetic|Leather|Mesh", "Lightweight|Memory Foam Insole|Anti-Skid Sole|Comfortable",
            aud=MEN, borrow=("Casual Shoes", "Formal Shoes", "Sports Shoes"), catch=0.45),
        Sub("Casual Shoes", "Casual Sneakers|Canvas Shoes|Loafers|Moccasins|Boat Shoes|Slip-On Sneakers|"
            "Chunky Sneakers", "UK {6|7|8|9|10}|Canvas|Suede|PU|Lace Up", "Everyday Wear|Cushioned Footbed|"
            "Trendy|Lightweight", aud=ANY, borrow=("Men's Shoes",), catch=0.1),
        Sub("Formal Shoes", "Derby Shoes|Oxford Shoes|Formal Loafers|Brogues|Monk Strap Shoes|Office Shoes",
            "UK {6|7|8|9|10|11}|Genuine Leather|Patent Leather|Faux Leather|Lace Up", "Office Wear|"
            "Party Wear|Cushioned|Glossy Finish", aud=MEN, borrow=("Men's Shoes",), catch=0.05),
        Sub("Sports Shoes", "Running Shoes|Training Shoes|Walking Shoes|Sports Shoes|Gym Shoes|Basketball Shoes|"
            "Tennis Shoes", "UK {5|6|7|8|9|10|11}|Mesh|Knit|EVA Sole|Lace Up", "Breathable|Shock Absorbing|"
            "Lightweight|Anti-Slip", aud=ANY, borrow=("Running", "Men's Shoes"), catch=0.2),
        Sub("Shoes", "Shoes|Sneakers|Sandals|Slippers|Flip Flops|Boots", "UK {4|5|6|7|8|9|10}",
            "Comfortable", aud=ANY, borrow=("@men's shoes", "@women's shoes", "Kids' Shoes"), catch=0.85),
    ),
    "women's shoes": (
        Sub("Ballerinas", "Ballet Flats|Ballerina Flats|Bellies|Mary Jane Flats|Pointed Flats",
            "UK {3|4|5|6|7|8}|Synthetic|Faux Leather|Velvet", "Bow Detail|Cushioned|Party Wear|Comfortable",
            aud=WOMEN, borrow=("Fashion Sandals",), catch=0.05),
        Sub("Fashion Sandals", "Heeled Sandals|Flat Sandals|Block Heels|Wedges|Kolhapuri Chappals|Stilettos|"
            "Slides", "UK {3|4|5|6|7|8}|{2|3|4} inch Heel|PU|Embellished", "Ankle Strap|Party Wear|"
            "Ethnic|Comfortable", aud=WOMEN, borrow=("Ballerinas",), catch=0.05),
        Sub("Women's Shoes", "Sneakers|Walking Shoes|Running Shoes|Boots|Loafers|Casual Shoes",
            "UK {3|4|5|6|7|8}|Mesh|Knit|Synthetic", "Lightweight|Memory Foam|Slip Resistant|Trendy",
            aud=WOMEN, borrow=("Ballerinas", "Fashion Sandals", "Sports Shoes"), catch=0.35),
    ),
    "men's clothing": (
        Sub("Shirts", "Casual Shirt|Formal Shirt|Checked Shirt|Printed Shirt|Linen Shirt|Denim Shirt",
            "Slim Fit|Regular Fit|Full Sleeve|Half Sleeve|Cotton|Size {S|M|L|XL|XXL|38|40|42}",
            "Spread Collar|Button Down|Wrinkle Free|Solid", aud=MEN),
        Sub("T-shirts & Polos", "Polo T-Shirt|Round Neck T-Shirt|Oversized T-Shirt|V-Neck T-Shirt|Graphic Tee|"
            "Henley T-Shirt", "Regular Fit|Slim Fit|Cotton|Half Sleeve|Size {S|M|L|XL|XXL}|Pack of {1|2|3}",
            "Printed|Solid|Breathable|Bio-Wash", aud=MEN, borrow=("Sportswear",), catch=0.05),
        Sub("Jeans", "Slim Fit Jeans|Skinny Jeans|Straight Fit Jeans|Relaxed Jeans|Denim Jeans|Bootcut Jeans",
            "Mid Rise|High Rise|Stretchable|Waist {28|30|32|34|36}|Dark Wash|Light Blue",
            "Distressed|Five Pocket|Faded|Comfort Stretch", aud=ANY),
        Sub("Innerwear", "Briefs|Trunks|Boxers|Vests|Thermal Set|Socks", "Pack of {2|3|4|5}|Cotton|Modal|"
            "Size {S|M|L|XL|XXL}", "Soft Waistband|Anti-Bacterial|No Itch Tag|Breathable", aud=MEN),
        Sub("Ethnic Wear", "Kurta|Kurta Pyjama Set|Sherwani|Nehru Jacket|Kurti|Saree|Salwar Suit|Lehenga Choli|"
            "Dupatta", "Cotton|Silk Blend|Rayon|Georgette|Straight|Anarkali|Size {S|M|L|XL|XXL}",
            "Embroidered|Printed|Festive|Wedding Wear", aud="Men's|Women's"),
        Sub("Men's Fashion", "Shirt|T-Shirt|Jeans|Jacket|Trousers|Kurta", "Size {S|M|L|XL}", "Trendy",
            aud=MEN, borrow=("Shirts", "T-shirts & Polos", "Jeans", "Ethnic Wear", "Men's Shoes", "Watches"),
            catch=0.8),
        Sub("Clothing", "Top|T-Shirt|Jeans|Dress|Shirt|Trousers", "Size {S|M|L|XL}", "Casual",
            aud=ANY, borrow=("@men's clothing", "@women's clothing", "Kids' Clothing"), catch=0.85),
    ),
    "women's clothing": (
        Sub("Western Wear", "Maxi Dress|Bodycon Dress|Top|Tunic|Jumpsuit|Shrug|Palazzo|Skirt|Co-ord Set",
            "Regular Fit|A-Line|Rayon|Crepe|Georgette|Size {XS|S|M|L|XL}", "Printed|Solid|Ruffled|Party Wear",
            aud=WOMEN, borrow=("Ethnic Wear",), catch=0.05),
        Sub("Lingerie & Nightwear", "Bra|Panties|Night Suit|Nighty|Camisole|Shapewear|Pyjama Set",
            "Cotton|Satin|Lace|Padded|Non-Padded|Pack of {2|3}|Size {32B|34B|36C|S|M|L}",
            "Wire-Free|Full Coverage|Seamless|Soft", aud=WOMEN),
        Sub("Women's Fashion", "Dress|Kurti|Top|Saree|Handbag|Sandals", "Size {S|M|L|XL}", "Trendy",
            aud=WOMEN, borrow=("Western Wear", "Ethnic Wear", "Lingerie & Nightwear", "Handbags & Clutches",
                               "Fashion Sandals"), catch=0.8),
    ),
    "kids' fashion": (
        Sub("Kids' Clothing", "Frock|T-Shirt and Shorts Set|Dungaree|Kids Jeans|Party Dress|Romper|Kids Kurta Set",
            "{0-6|6-12|12-18} Months|{2-3|3-4|5-6|7-8|9-10} Years|Cotton|Hosiery", "Printed|Cartoon Print|"
            "Soft Fabric|Snap Buttons", aud=KIDS, borrow=("Baby Fashion",), catch=0.1),
        Sub("Kids' Shoes", "School Shoes|Kids Sneakers|LED Light Shoes|Kids Sandals|Velcro Shoes|Kids Sports Shoes",
            "UK {10C|11C|12C|13C|1|2|3|4}|Velcro|PU|Mesh", "Anti-Skid|Lightweight|Light Up Sole|Comfortable",
            aud=KIDS, borrow=("Sports Shoes",), catch=0.05),
        Sub("Kids' Watches", "Kids Digital Watch|Kids Analog Watch|Kids Smartwatch|Cartoon Watch|LED Watch",
            "Water Resistant|Silicone Strap|{3|5|7} Years+|GPS Tracker", "Cartoon Dial|Alarm|Backlight|SOS Button",
            aud=KIDS, borrow=("Watches",), catch=0.05),
        Sub("Baby Fashion", "Baby Romper|Onesie|Baby Frock|Bodysuit Set|Baby Booties|Mittens and Caps Set",
            "{0-3|3-6|6-9|9-12} Months|Cotton|Pack of {3|5}", "Soft|Envelope Neck|Skin Friendly|Printed",
            aud="Baby Boys|Baby Girls|Newborn", borrow=("Kids' Clothing",), catch=0.1),
        Sub("School Bags", "School Bag|Kids Backpack|Trolley School Bag|Pencil Pouch|Lunch Bag",
            "{18|20|25|32} L|{14|16|18} inch|Polyester|{2|3|4} Compartments", "Water Resistant|Padded Straps|"
            "Cartoon Print|Rain Cover", aud=KIDS, borrow=("Backpacks",), catch=0.1),
        Sub("Kids' Fashion", "Kids Outfit|Kids Wear", "{2-4|4-6|6-8} Years", "Cute", aud=KIDS,
            borrow=("@kids' fashion",), catch=0.85),
    ),
    "toys & baby products": (
        Sub("Toys & Games", "Board Game|Puzzle|Remote Control Car|Building Blocks|Soft Toy|Doll House|Action Figure|"
            "Ride On Car|Play Dough Set|Kitchen Set Toy", "{3|4|5|8}+ Years|{100|500|1000} Pieces|Rechargeable|"
            "Non-Toxic", "Educational|Gift for Kids|Family Game|Birthday Gift",
            borrow=("STEM Toys Store", "Toys Gifting Store"), catch=0.1),
        Sub("STEM Toys Store", "Science Kit|Robotics Kit|Coding Robot|DIY Electronics Kit|Solar Kit|Magnetic Tiles|"
            "Chemistry Set", "{6|8|10|12}+ Years|{50|120|200} Experiments|STEM Certified",
            "Educational|Learning Toy|Build Your Own|Activity Book", borrow=("Toys & Games",), catch=0.1),
        Sub("Toys Gifting Store", "Gift Hamper|Soft Teddy Bear|Musical Toy|Toy Gift Set|Doll|Art and Craft Kit",
            "{1|2|3|5}+ Years|{30|45|60|90} cm", "Birthday Gift|Gift Wrapped|Cute|Non-Toxic",
            borrow=("Toys & Games",), catch=0.4),
        Sub("Baby Products", "Baby Carrier|Baby Bedding Set|Baby Walker|Play Gym|Baby Monitor|Teether|"
            "Baby Wipes", "{0-6|0-12|6-18} Months|Pack of {2|3|4}|BPA Free", "Soft|Safe for Newborn|Washable|Musical",
            borrow=("Diapers", "Nursing & Feeding", "Baby Bath, Skin & Grooming"), catch=0.3),
        Sub("Diapers", "Diaper Pants|Taped Diapers|Cloth Diapers|Swim Diapers|Diaper Changing Mat",
            "Size {NB|S|M|L|XL|XXL}|{32|46|64|72|96} Count|Pack of {1|2}", "12 Hour Absorption|Rash Free|"
            "Wetness Indicator|Soft Waistband"),
        Sub("Nursing & Feeding", "Feeding Bottle|Sippy Cup|Breast Pump|Bottle Sterilizer|Baby Food Maker|Bib Set|"
            "High Chair", "{125|150|250|260} ml|Anti-Colic|BPA Free|Silicone Nipple", "Easy Grip|Leak Proof|"
            "Electric|Dishwasher Safe"),
        Sub("Strollers & Prams", "Baby Stroller|Pram|Travel System|Lightweight Buggy|Jogging Stroller",
            "{0-3|0-4} Years|Reversible Handle|{3|5}-Point Harness|Reclining Seat", "Foldable|Canopy|"
            "Shock Absorber|Storage Basket"),
        Sub("Baby Bath, Skin & Grooming", "Baby Lotion|Baby Shampoo|Baby Oil|Baby Soap|Baby Powder|Baby Bath Tub|"
            "Nail Clipper Set|Grooming Kit", "{100|200|400|500} ml|Pack of {2|3}|Tear Free|pH Balanced",
            "Paraben Free|Dermatologically Tested|Gentle|Natural Ingredients"),
    ),
    "bags & luggage": (
        Sub("Backpacks", "Laptop Backpack|Casual Backpack|Travel Backpack|Anti-Theft Backpack|College Bag|"
            "Daypack", "{20|25|30|35|40} L|{15.6|17} inch Laptop|Water Resistant|Polyester|USB Charging Port",
            "Padded Straps|Multiple Compartments|Rain Cover|Ergonomic", borrow=("Rucksacks", "School Bags"),
            catch=0.15),
        Sub("Rucksacks", "Rucksack|Trekking Bag|Hiking Rucksack|Travel Rucksack|Camping Backpack",
            "{45|50|55|60|65|75|80} L|Internal Frame|Rain Cover|Nylon", "Adjustable Torso|Hydration Compatible|"
            "Multiple Pockets|Padded Hip Belt", borrow=("Backpacks", "Camping & Hiking"), catch=0.15),
        Sub("Suitcases & Trolley Bags", "Cabin Luggage|Check-In Trolley Bag|Hard Sided Suitcase|Soft Luggage|"
            "Luggage Set", "{55|65|75|79} cm|{4|8} Wheels|TSA Lock|Polycarbonate|Polypropylene|Set of {2|3}",
            "360 Degree Spinner|Expandable|Scratch Resistant|Lightweight"),
        Sub("Travel Duffles", "Duffle Bag|Weekender Bag|Gym Duffel|Travel Duffel with Wheels|Holdall",
            "{35|45|55|60} L|Polyester|Canvas|Shoe Compartment", "Water Resistant|Detachable Strap|Foldable|"
            "Large Capacity", borrow=("Suitcases & Trolley Bags",), catch=0.1),
        Sub("Travel Accessories", "Travel Pillow|Luggage Tag|Travel Adapter|Passport Holder|Toiletry Kit|"
            "Packing Cubes|Luggage Scale|Travel Lock", "Set of {2|3|4|6}|Universal|Memory Foam|TSA Approved",
            "Compact|Lightweight|Durable|RFID Blocking"),
        Sub("Handbags & Clutches", "Tote Bag|Sling Bag|Clutch|Shoulder Bag|Satchel|Hobo Bag|Wallet",
            "PU Leather|Vegan Leather|Canvas|Set of {2|3}", "Zip Closure|Adjustable Strap|Party Wear|Spacious",
            aud=WOMEN),
        Sub("Bags & Luggage", "Bag|Luggage|Travel Bag", "Large", "Durable",
            borrow=("@bags & luggage",), catch=0.85),
    ),
    "accessories": (
        Sub("Watches", "Analog Watch|Digital Watch|Chronograph Watch|Smart Watch|Automatic Watch|Couple Watch",
            "Stainless Steel Strap|Leather Strap|{30|50|100} m Water Resistant|{40|42|44} mm Dial",
            "Date Display|Luminous Hands|Gift Box|Quartz Movement", aud=ANY, borrow=("Smartwatches",), catch=0.1),
        Sub("Sunglasses", "Aviator Sunglasses|Wayfarer Sunglasses|Round Sunglasses|Sports Sunglasses|"
            "Cat Eye Sunglasses|Polarised Sunglasses", "UV400|Polarized|Metal Frame|TR90|{52|55|58} mm",
            "Anti-Glare|Lightweight|Scratch Resistant|Case Included", aud=ANY),
        Sub("Jewellery", "Necklace Set|Earrings|Bracelet|Ring|Anklet|Pendant|Bangles|Jewellery Set",
            "Gold Plated|Rose Gold Plated|Oxidised|American Diamond|Kundan|Alloy", "For Women and Girls|Gift|"
            "Traditional|Party Wear", aud=WOMEN, borrow=("Fashion & Silver Jewellery",), catch=0.2),
        Sub("Fashion & Silver Jewellery", "925 Sterling Silver Ring|Silver Anklet|Silver Pendant|Silver Earrings|"
            "Oxidised Jhumka|Silver Chain", "925 Sterling|BIS Hallmarked|Rhodium Plated|Oxidised Silver",
            "Hypoallergenic|Gift Box|Adjustable|Certificate of Authenticity", aud=WOMEN,
            borrow=("Jewellery",), catch=0.15),
        Sub("Gold & Diamond Jewellery", "Gold Ring|Diamond Earrings|Gold Chain|Diamond Pendant|Gold Coin|"
            "Solitaire Ring", "{14|18|22} KT|BIS Hallmark|{0.1|0.25|0.5} ct|IGI Certified|Yellow Gold|White Gold",
            "Certified|Gift Box|Lifetime Exchange", aud=WOMEN),
    ),
    "beauty & health": (
        Sub("Make-up", "Lipstick|Kajal|Foundation|Compact Powder|Eyeliner|Mascara|Nail Polish|Makeup Kit|"
            "Eyeshadow Palette", "Matte|Long Lasting|{2|4|8|10} g|Shade {01|02|05|12}|SPF {15|20|30}",
            "Smudge Proof|Waterproof|Transfer Proof|Cruelty Free"),
        Sub("Beauty & Grooming", "Face Wash|Beard Oil|Hair Oil|Shampoo|Body Lotion|Perfume|Deodorant|Sunscreen|"
            "Face Serum", "{50|100|150|200|400} ml|SPF {30|50}|Vitamin C|Aloe Vera|Pack of {2|3}",
            "For All Skin Types|Paraben Free|Long Lasting Fragrance|Natural", aud="Men's|Women's|",
            borrow=("Luxury Beauty", "Make-up"), catch=0.15),
        Sub("Luxury Beauty", "Eau de Parfum|Night Cream|Anti-Ageing Serum|Luxury Lipstick|Eye Cream|"
            "Perfume Gift Set", "{15|30|50|100} ml|Retinol|Hyaluronic Acid|Gold Infused",
            "Premium|Dermatologist Tested|Gift Set|Long Lasting", borrow=("Beauty & Grooming",), catch=0.1),
        Sub("Health & Personal Care", "Digital Thermometer|BP Monitor|Pulse Oximeter|Weighing Scale|"
            "Hot Water Bag|Heating Pad|Massager|First Aid Kit|Sanitizer", "{1|2|3} Year Warranty|Digital|"
            "Pack of {1|2|5}|{100|500} ml", "Accurate|Easy to Use|Doctor Recommended|Portable",
            borrow=("Personal Care Appliances", "Diet & Nutrition"), catch=0.15),
        Sub("Diet & Nutrition", "Whey Protein|Multivitamin Tablets|Mass Gainer|Fish Oil Capsules|Peanut Butter|"
            "Protein Bar|Oats", "{1|2|4|5} kg|{60|90|120} Tablets|{250|500|1000} g|{24|25|30} g Protein|"
            "Chocolate|Vanilla|Unflavoured", "Gluten Free|No Added Sugar|Lab Tested|Vegetarian"),
        Sub("Personal Care Appliances", "Beard Trimmer|Hair Dryer|Hair Straightener|Electric Shaver|Epilator|"
            "Hair Curler|Grooming Kit", "{60|90|120} Minutes Runtime|{1000|1200|2000} W|{20|40} Length Settings|"
            "USB Charging", "Cordless|Ceramic Coating|Skin Friendly Blades|Quick Charge",
            aud="Men's|Women's|", borrow=("Beauty & Grooming",), catch=0.05),
    ),
    "grocery & gourmet foods": (
        Sub("Coffee, Tea & Beverages", "Instant Coffee|Filter Coffee|Green Tea|Masala Chai|Herbal Tea|"
            "Cold Coffee Mix|Coffee Beans|Energy Drink", "{100|200|250|500} g|{25|50|100} Tea Bags|Jar|Pouch|"
            "Pack of {2|3|6}", "Rich Aroma|Freshly Roasted|No Added Sugar|Organic"),
        Sub("Snack Foods", "Namkeen|Potato Chips|Cookies|Dry Fruits Mix|Roasted Makhana|Chocolate Bar|Trail Mix|"
            "Biscuits", "{150|200|400|1000} g|Pack of {2|4|6|12}|Peri Peri|Salted|Masala",
            "Crunchy|Healthy Snack|No Palm Oil|Gluten Free"),
        Sub("All Grocery & Gourmet Foods", "Grocery Combo|Gourmet Hamper|Food Pack", "Combo", "Fresh",
            borrow=("@grocery & gourmet foods",), catch=0.85),
    ),
    "pet supplies": (
        Sub("Dog supplies", "Dog Food|Dog Collar|Dog Leash|Dog Bed|Chew Toy|Dog Shampoo|Dog Bowl|Dog Harness",
            "{1|3|10|20} kg|Adult|Puppy|Chicken and Rice|Size {S|M|L|XL}", "Nylon|Durable|Tick and Flea|Washable"),
        Sub("Cat Supplies", "Cat Food|Cat Litter|Scratching Post|Cat Toy|Cat Bed|Litter Box",
            "{1|3|7|10} kg|Kitten|Adult|Ocean Fish|Tuna", "Clumping|Odour Control|Interactive|Soft"),
        Sub("All Pet Supplies", "Pet Supplies|Pet Combo|Pet Essentials", "All Breeds", "Durable",
            borrow=("@pet supplies",), catch=0.85),
    ),
    "industrial supplies": (
        Sub("Industrial & Scientific Supplies", "Safety Goggles|Nitrile Gloves|Safety Shoes|Face Shield|"
            "Packaging Tape|Cable Ties|Bubble Wrap|Welding Machine", "Pack of {10|50|100}|ISI Marked|"
            "{48|72} mm|{200|300} A", "Heavy Duty|Industrial Grade|Chemical Resistant|Anti-Static",
            borrow=("Lab & Scientific", "Test, Measure & Inspect"), catch=0.15),
        Sub("Lab & Scientific", "Beaker Set|Test Tubes|Digital Weighing Scale|Microscope|Pipette|Petri Dish|"
            "Lab Thermometer", "{50|100|250|500} ml|Borosilicate|{0.01|0.1} g Accuracy|{40|100|400}X",
            "Autoclavable|Lab Grade|Calibrated|Student Kit"),
        Sub("Test, Measure & Inspect", "Digital Multimeter|Measuring Tape|Laser Distance Meter|Vernier Caliper|"
            "Infrared Thermometer|Spirit Level|Clamp Meter", "{3|5|7.5|10} m|{40|60|100} m Range|"
            "{150|200} mm|Auto Range", "Accurate|Backlit Display|Magnetic Hook|Pocket Size"),
    ),
    "music": (
        Sub("Musical Instruments & Professional Audio", "Acoustic Guitar|Electric Guitar|Digital Piano|Keyboard "
            "Piano|Ukulele|Studio Microphone|Audio Interface|Tabla|Harmonium|Cajon", "{38|39|40|41} inch|"
            "{61|88} Keys|Condenser|USB|Rosewood Fretboard", "Beginner Kit|With Bag|Professional|Pitch Pipe",
            borrow=("Speakers",), catch=0.05),
    ),
    "stores": (
        Sub("Value Bazaar", "Combo Pack|Value Pack|Budget Buy", "Pack of {2|3|5}", "Best Value",
            borrow=("@home & kitchen", "@men's clothing", "Mobile Accessories", "Household Supplies"), catch=0.95),
        Sub("Refurbished & Open Box", "Renewed|Refurbished|Open Box", "{6|12} Months Warranty",
            "Certified Renewed", borrow=("Smartphones", "Laptops", "Televisions", "Headphones", "Smartwatches",
                                        "Cameras", "Speakers"), catch=0.95),
        Sub("The Designer Boutique", "Designer Kurta|Designer Saree|Designer Handbag|Designer Dress",
            "Handcrafted|Silk|Limited Edition", "Premium|Designer Label",
            borrow=("Ethnic Wear", "Western Wear", "Handbags & Clutches", "Jewellery"), catch=0.7),
        Sub("Fashion Sales & Deals", "Deal|Sale Item", "Flat {40|50|60|70}% Off", "Limited Time",
            borrow=("@men's clothing", "@women's clothing", "@men's shoes", "Watches", "Sunglasses"), catch=0.95),
        Sub("Fashion Store", "Fashion Item|Style Pick", "Trendy", "New Arrival",
            borrow=("@men's clothing", "@women's clothing", "@kids' fashion", "Handbags & Clutches"), catch=0.95),
    ),
    "office products": (
        Sub("Stationery", "Gel Pen Set|Notebook|Sticky Notes|Highlighters|Geometry Box|Diary|Marker Set|Files",
            "Pack of {5|10|20}|{100|160|200} Pages|A4|A5|Ruled", "Smooth Writing|Smudge Free|Assorted Colours|"
            "Eco Friendly"),
        Sub("Office Supplies", "Paper Shredder|Stapler|Calculator|Desk Organizer|Whiteboard|Laminator|Cash Box",
            "{12|16} Digit|{2x3|3x4} feet|Heavy Duty|A4 Size", "Durable|Magnetic|Compact|Metal Body",
            borrow=("Stationery", "Printers & Ink"), catch=0.1),
        Sub("Sewing & Craft Supplies", "Sewing Machine|Embroidery Kit|Acrylic Paint Set|Craft Paper|Glue Gun|"
            "Knitting Needles|Canvas Board", "{12|24|36} Colours|{20|40} W|Pack of {10|50|100}|A4",
            "Beginner Friendly|Non-Toxic|Portable|DIY"),
    ),
}

COLOURS = ("Black", "White", "Blue", "Navy Blue", "Grey", "Red", "Maroon", "Green", "Olive", "Beige", "Pink",
           "Silver", "Gold", "Brown", "Tan", "Yellow", "Purple", "Multicolour", "Teal", "Charcoal")
STUFFING = ("for Home and Office", "Ideal Gift", "Combo Offer", "Latest {2023|2024} Edition", "Made in India",
            "with {1|2} Year Warranty", "for Men and Women", "Best Seller", "Pack of {1|2}", "Premium Quality",
            "for Daily Use", "Travel Friendly")
SYLLABLES = ("ka", "ro", "zen", "vi", "tro", "lu", "mi", "sa", "neo", "ar", "qu", "fa", "lix", "bo", "tek",
             "ora", "pi", "dex", "vo", "ny", "sha", "ku", "el", "rav", "to", "mo", "xi", "ja", "pro", "ion")

"""Word lists from which the built-in synthetic world writes its item texts.

Every latent topic has several paraphrases ("galaxy", "interstellar travel",
"cosmic voyage", ...), so two items of the same topic often share no exact
word but do share meaning: an exact-match model sees unrelated texts, a
language model sees related ones. Each scenario (a domain such as books or
films) adds its own surface words: per-topic phrases, the opening of a
description, filler remarks and title templates. Topic names double as the
"genres" text field and as the catalog attribute names.

Most content words belong to a single topic; a few format words ("memoir",
"epic", "thriller") recur across topics, as they do in real blurbs.
"""

from typing import Dict, Tuple

# Topic name -> paraphrases used in every scenario. Dict order = topic order.
TOPIC_PHRASES: Dict[str, Tuple[str, ...]] = {
    "space": (
        "galaxy",
        "interstellar travel",
        "starships",
        "cosmic voyage",
        "distant planets",
        "astronauts",
        "orbital stations",
        "nebulae",
    ),
    "mystery": (
        "detective",
        "whodunit",
        "unsolved murder",
        "sleuth",
        "hidden clues",
        "locked-room puzzle",
        "missing heirloom",
        "investigator",
    ),
    "romance": (
        "love affair",
        "star-crossed lovers",
        "courtship",
        "heartbreak",
        "wedding",
        "sweethearts",
        "passion",
        "second-chance love",
    ),
    "war": (
        "battlefield",
        "soldiers",
        "military campaign",
        "trenches",
        "siege",
        "platoon",
        "armistice",
        "frontline",
    ),
    "comedy": (
        "slapstick",
        "witty banter",
        "hilarious mishaps",
        "jokes",
        "farce",
        "laughter",
        "comic misadventure",
        "pranks",
    ),
    "fantasy": (
        "dragons",
        "wizards",
        "enchanted kingdom",
        "sorcery",
        "elves",
        "magic sword",
        "ancient prophecy",
        "spellcasting",
    ),
    "horror": (
        "haunted mansion",
        "ghosts",
        "monsters",
        "nightmares",
        "dread",
        "demonic possession",
        "creeping terror",
        "vampires",
    ),
    "history": (
        "medieval court",
        "empires",
        "ancient rome",
        "renaissance",
        "dynasties",
        "victorian era",
        "pharaohs",
        "revolutionary period",
    ),
    "crime": (
        "heist",
        "gangsters",
        "mob boss",
        "smuggling ring",
        "bank robbery",
        "organized syndicate",
        "con artists",
        "cartel",
    ),
    "sports": (
        "championship",
        "athletes",
        "underdog team",
        "stadium",
        "coach",
        "tournament",
        "final match",
        "training montage",
    ),
    "nature": (
        "wilderness",
        "wildlife",
        "rainforest",
        "mountains",
        "ocean life",
        "migration",
        "endangered species",
        "national parks",
    ),
    "family": (
        "parents",
        "siblings",
        "childhood",
        "reunion",
        "grandmother",
        "household",
        "growing up",
        "adoption",
    ),
    "technology": (
        "artificial intelligence",
        "hackers",
        "robots",
        "virtual reality",
        "algorithms",
        "cybernetic implants",
        "startup founders",
        "digital surveillance",
    ),
    "music": (
        "rock band",
        "concert tour",
        "songwriter",
        "orchestra",
        "jazz club",
        "record deal",
        "melodies",
        "guitarist",
    ),
    "adventure": (
        "treasure hunt",
        "expedition",
        "jungle quest",
        "explorers",
        "lost city",
        "perilous journey",
        "uncharted islands",
        "daring escape",
    ),
    "politics": (
        "elections",
        "parliament",
        "government conspiracy",
        "diplomats",
        "presidential campaign",
        "senators",
        "political scandal",
        "coup",
    ),
}

# Scenario -> topic -> paraphrases only that scenario uses.
SCENARIO_TOPIC_PHRASES: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "books": {
        "space": ("space opera saga", "colony worlds", "starfaring epic"),
        "mystery": ("cozy sleuthing", "case files", "amateur detective diary"),
        "romance": ("epistolary love letters", "regency courtship", "swooning hearts"),
        "war": ("wartime memoir", "regimental chronicle", "letters from the front"),
        "comedy": ("satirical essays", "humorous anecdotes", "comic verse"),
        "fantasy": ("high fantasy saga", "mythical bestiary", "runic lore"),
        "horror": ("gothic tale", "ghost stories", "macabre fables"),
        "history": ("historical biography", "scholarly chronicle", "annals"),
        "crime": ("true crime casebook", "noir paperback", "underworld memoir"),
        "sports": ("athlete biography", "season diary", "locker-room memoir"),
        "nature": ("field guide", "naturalist journal", "botanical sketches"),
        "family": ("family saga", "generational memoir", "kinship chronicle"),
        "technology": ("cyberpunk novella", "hacker manifesto", "futurist essays"),
        "music": ("rock biography", "liner notes", "composer memoir"),
        "adventure": ("explorer logbook", "seafaring yarn", "travelogue"),
        "politics": ("political memoir", "campaign diary", "statecraft treatise"),
    },
    "films": {
        "space": ("zero-gravity spectacle", "laser dogfights", "spacewalk sequences"),
        "mystery": ("noir detective thriller", "courtroom reveal", "twist ending whodunit"),
        "romance": ("rom-com", "meet-cute", "onscreen chemistry"),
        "war": ("combat epic", "dogfight sequences", "battle scenes"),
        "comedy": ("sitcom-style gags", "standup cameo", "screwball antics"),
        "fantasy": ("cgi dragons", "swords and sorcery epic", "magical creatures onscreen"),
        "horror": ("slasher", "jump scares", "creature feature"),
        "history": ("costume drama", "period piece", "historical epic"),
        "crime": ("gangster picture", "car chases", "shootouts"),
        "sports": ("sports drama", "slow-motion finale", "locker-room speeches"),
        "nature": ("wildlife documentary", "aerial footage", "time-lapse landscapes"),
        "family": ("family feature", "kids matinee", "holiday movie"),
        "technology": ("techno-thriller", "android uprising", "hacking montage"),
        "music": ("musical numbers", "concert footage", "biopic soundtrack"),
        "adventure": ("action-adventure", "stunt sequences", "swashbuckler"),
        "politics": ("political thriller", "white house drama", "backroom dealmaking"),
    },
}

# Scenario -> openings of the description ("A novel about ...").
SCENARIO_DESCRIPTION_OPENINGS: Dict[str, Tuple[str, ...]] = {
    "books": (
        "A novel about",
        "This book follows",
        "A gripping story of",
        "A paperback tale of",
        "Chapters exploring",
    ),
    "films": (
        "A film about",
        "This movie follows",
        "A feature film with",
        "A motion picture about",
        "Scenes depicting",
    ),
}

# Scenario -> remarks that say nothing about the topic.
SCENARIO_FILLER_PHRASES: Dict[str, Tuple[str, ...]] = {
    "books": (
        "written in vivid prose",
        "a real page-turner",
        "with richly drawn characters",
        "told across short chapters",
        "from an acclaimed author",
        "beloved by readers",
    ),
    "films": (
        "with striking cinematography",
        "featuring an ensemble cast",
        "from an acclaimed director",
        "with a memorable score",
        "shot on location",
        "a crowd-pleaser at festivals",
    ),
}

# Remarks shared by all scenarios, also topic independent.
SHARED_FILLER_PHRASES: Tuple[str, ...] = (
    "with an unexpected twist",
    "full of quiet moments",
    "at a brisk pace",
    "with a bittersweet ending",
    "praised by critics",
    "surprisingly tender",
    "bold and ambitious",
    "a slow burn",
)

# Scenario -> title templates; {name} is a made-up name, {phrase} a topic phrase.
SCENARIO_TITLE_TEMPLATES: Dict[str, Tuple[str, ...]] = {
    "books": (
        "{name} and the {phrase}",
        "The Book of {name}: {phrase}",
        "{phrase}: A Novel of {name}",
        "Tales of {name}",
    ),
    "films": (
        "{name}: {phrase}",
        "{phrase} in {name}",
        "Return to {name}",
        "{name} Rising",
    ),
}

# Syllables from which made-up names ("Varokel") are built.
NAME_SYLLABLES: Tuple[str, ...] = (
    "ka",
    "vor",
    "el",
    "mi",
    "ran",
    "tho",
    "li",
    "sa",
    "dor",
    "qu",
    "ne",
    "bri",
    "zan",
    "ol",
    "fen",
    "tu",
    "gar",
    "is",
    "mo",
    "ve",
    "ry",
    "cal",
    "dun",
    "wyn",
)

# Values of the "region" user feature.
REGION_NAMES: Tuple[str, ...] = ("north", "south", "east", "west", "central")

"""Hand-written building blocks for the llamapipe sample: names, topics, sentence templates.

Every word list and sentence here was written for llamapipe. The generator recombines them so that
documents are many and distinct (a tokenizer and a tiny LM have something to learn, and dedup does
not collapse the corpus), while the repo only stores this small file.
"""

from __future__ import annotations

# Syllables for invented place names ("Velmora", "Ostrand") and surnames. Invented names keep the
# sample free of real people and places while giving the tokenizer a long tail of proper nouns.
PLACE_HEADS = [
    "Vel", "Os", "Mar", "Tor", "Bel", "Karn", "Ash", "Lin", "Dor", "Wen", "Fal", "Brem", "Cal",
    "Hal", "Rud", "Sel", "Tam", "Ver", "Quin", "Mor", "Ell", "Gar", "Pen", "Thal", "Wex", "Nor",
]
PLACE_TAILS = [
    "mora", "strand", "wick", "field", "haven", "dale", "mouth", "ford", "brook", "stead", "holm",
    "ton", "bury", "more", "gate", "ridge", "combe", "ley", "minster", "by", "wold", "marsh",
]
FIRST_NAMES = [
    "Ada", "Bram", "Celia", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaia",
    "Lucien", "Maren", "Nikolai", "Odette", "Pavel", "Quentin", "Rosa", "Soren", "Tilde", "Umar",
    "Vera", "Wendell", "Xenia", "Yusuf", "Zora", "Anselm", "Beatrix", "Cyril", "Dagny", "Emeric",
    "Flora", "Gideon", "Hester", "Ivo", "Juno", "Kasimir", "Leontine", "Matthias", "Nell",
]
SURNAME_HEADS = ["Ander", "Brook", "Corr", "Dal", "Eng", "Fenn", "Grav", "Holt", "Iver", "Kell",
                 "Lark", "Morr", "Nyl", "Orm", "Pell", "Ravn", "Stav", "Trell", "Ulm", "Wyck"]
SURNAME_TAILS = ["sen", "ley", "ington", "ard", "strom", "wood", "berg", "ham", "ett", "ova",
                 "ik", "well", "mann", "oni", "ez", "quist"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]

# Generic slots shared by every topic.
GENERIC = {
    "adj": ["careful", "modest", "unusual", "remarkable", "patient", "quiet", "steady", "bright",
            "narrow", "generous", "stubborn", "practical", "delicate", "durable", "early", "late",
            "simple", "detailed", "curious", "reliable", "costly", "cheap", "rare", "familiar"],
    "time": ["in the spring", "every autumn", "during the long winter", "after the first frost",
             "before dawn", "on most weekends", "over the following decade", "within a few weeks",
             "by the end of the century", "in the years after the war", "each summer",
             "late in the evening", "on the first Monday of the month"],
    "group": ["the local council", "a small group of volunteers", "the town library",
              "several neighbouring farms", "a cooperative of growers", "the regional museum",
              "a committee of teachers", "the harbour authority", "two rival clubs",
              "a family business", "the university extension office", "the parish records office"],
    "verb_past": ["restored", "documented", "measured", "rebuilt", "tested", "described",
                  "catalogued", "expanded", "repaired", "surveyed", "organised", "photographed",
                  "compared", "published", "abandoned", "replaced"],
    "result": ["the results were better than anyone had expected",
               "the figures turned out to be far less certain than the newspapers claimed",
               "most of the work had to be repeated the following year",
               "the method spread quickly to the surrounding valleys",
               "the records survive only in a handful of letters",
               "the improvement was small but easy to repeat",
               "nobody could agree on what the numbers meant",
               "the project is still cited as a model of patient planning"],
}

# Topic vocabularies and sentence templates. Slots: {place} {person} {year} {num} {month} and any
# key of the topic dict or of GENERIC. Templates read as plain encyclopaedic or explanatory prose.
TOPICS: dict[str, dict[str, list[str]]] = {
    "astronomy": {
        "thing": ["the old refractor", "a borrowed reflector", "the spectrograph", "the meridian circle",
                  "a photographic plate", "the copper dome", "a hand-built camera", "the clock drive"],
        "object": ["a faint comet", "the outer moons", "a close double star", "the lunar terminator",
                   "a variable star", "the zodiacal light", "a passing asteroid", "the winter nebula"],
        "templates": [
            "In {year}, {person} used {thing} at the {place} observatory to follow {object} for {num} nights.",
            "Observers at {place} noted that {object} grew noticeably brighter {time}.",
            "The brightness of {object} was compared with nearby reference stars, and {result}.",
            "{group} raised money to replace {thing}, which had been damaged by damp.",
            "Because the site sits above the valley fog, {object} can often be seen from {place} when the lowland towns are clouded over.",
            "{person} kept a logbook in which every estimate of {object} was written beside the time and the sky conditions.",
            "A {adj} survey of {object} was {verb_past} by amateur observers and later used by professionals.",
            "Light pollution from the growing town of {place} forced the astronomers to move {thing} to a hill {num} kilometres away.",
            "The timing of eclipses seen from {place} helped to correct the longitude of the town by a few seconds of arc.",
            "Students were allowed to use {thing} on clear evenings, provided that they recorded what they saw.",
        ],
    },
    "gardening": {
        "thing": ["raised beds", "a cold frame", "the compost heap", "a rainwater butt", "clay pots",
                  "a greenhouse", "the orchard", "a drip line", "the herb border"],
        "plant": ["broad beans", "early potatoes", "runner beans", "winter squash", "garlic",
                  "blackcurrants", "sweet peas", "leeks", "rhubarb", "dwarf apples", "lettuce"],
        "templates": [
            "Most growers around {place} sow {plant} {time}, once the soil can be worked without sticking to the spade.",
            "{plant} do well in {thing} as long as the soil is kept loose and fed with leaf mould.",
            "{person} recommends watering {plant} deeply twice a week rather than a little every day.",
            "A {adj} mulch of straw keeps the roots of {plant} cool and reduces the number of weeds.",
            "In {year}, {group} planted {num} fruit trees along the lane leading into {place}.",
            "Slugs are the main enemy of {plant}, and gardeners in {place} trap them with boards laid between the rows.",
            "When the weather turns cold, {thing} protects seedlings that would otherwise be lost.",
            "Saving seed from the strongest plants each year slowly produces a strain suited to local conditions.",
            "The allotments at {place} were {verb_past} after the old railway sidings closed.",
            "Crop rotation means that {plant} never grow in the same bed two years running.",
        ],
    },
    "cooking": {
        "dish": ["barley soup", "a rye loaf", "apple cake", "braised lentils", "pickled cabbage",
                 "a fish stew", "plum dumplings", "roast roots", "buckwheat pancakes", "onion tart"],
        "thing": ["a cast-iron pot", "a wood-fired oven", "a heavy pan", "a stone mortar",
                  "a proving basket", "a clay dish"],
        "templates": [
            "{dish} is a plain dish from {place}, usually made {time} when stores are low.",
            "To make {dish}, the cook starts with {thing} and a generous spoon of fat.",
            "{person} insists that {dish} tastes better on the second day, once the flavours have settled.",
            "The recipe for {dish} printed in {year} calls for {num} grams of salt, which most cooks now halve.",
            "Bakers in {place} still shape dough by hand and rest it in {thing} overnight.",
            "A {adj} version of {dish} uses smoked fat instead of butter.",
            "Every market day, stalls in {place} sell {dish} wrapped in paper.",
            "Good stock is the base of {dish}; without it the result is thin and flat.",
            "Cooks disagree about whether {dish} should be served hot or at room temperature.",
            "The dish was {verb_past} in a regional cookbook compiled by {group}.",
        ],
    },
    "railways": {
        "thing": ["the branch line", "a narrow-gauge tramway", "the viaduct", "the signal box",
                  "a steam locomotive", "the goods yard", "the tunnel", "the level crossing"],
        "templates": [
            'The station clock at {place} was kept exactly five minutes fast so that nobody would miss the train.',
            '{person} drove the last scheduled passenger train out of {place} in {year}.',
            'Sheep were often found on the line, and drivers learned to slow down on the moorland section.',
            'The old trackbed is now a cycle path that runs for {num} kilometres along the valley.',
            'Model railway enthusiasts have built a detailed copy of the station as it looked in {year}.',
            "{thing} reached {place} in {year}, cutting the journey to the coast to {num} hours.",
            "Passenger numbers on {thing} fell sharply after the new road opened, and {result}.",
            "{group} {verb_past} {thing} and now runs trains on summer weekends.",
            "The engineer {person} chose a longer route around the hill to keep the gradient gentle.",
            "Timber and slate from the quarries above {place} were carried down to the harbour by rail.",
            "At its busiest, the station at {place} handled {num} trains a day.",
            "A {adj} timetable from {year} shows that the last train left at ten past nine.",
            "Local children were warned to keep away from {thing} after several accidents.",
            "The line closed to passengers in {year} but freight continued for another decade.",
        ],
    },
    "rivers": {
        "thing": ["the weir", "the old ferry", "a stone bridge", "the mill race", "the flood meadow",
                  "the estuary", "the towpath", "a tidal lock"],
        "templates": [
            "In dry summers the river at {place} can be crossed on foot without wetting one's knees.",
            'Salmon were once so common near {place} that apprentices complained of eating them too often.',
            '{person} argued that the new embankment would simply move the flooding further downstream.',
            'The mill leat still carries water, although the wheel itself was removed in {year}.',
            'Walkers can follow the river from its source to the sea in about {num} days.',
            "The river rises in the hills west of {place} and flows for {num} kilometres before it reaches the sea.",
            "{thing} near {place} was built to control floods that regularly covered the lower streets.",
            "In {year}, a spring flood carried away {thing}, and {result}.",
            "Otters returned to the river {time}, after decades in which the water was too polluted for them.",
            "{person} mapped every ford and crossing along the valley and published the survey in {year}.",
            "Barges once carried grain downstream from {place} to the mills on the coast.",
            "A {adj} programme of tree planting along the banks has reduced erosion.",
            "{group} measures the water level at {thing} each morning and posts the figures online.",
            "Fishing rights on the upper river have been disputed since the seventeenth century.",
        ],
    },
    "software": {
        "thing": ["the build system", "a small parser", "the test suite", "a command-line tool",
                  "the database layer", "a configuration file", "the release script", "a cache"],
        "templates": [
            "{person} rewrote {thing} in {year} because the original version could not handle large inputs.",
            "The project keeps {thing} small so that new contributors can read it in an afternoon.",
            "When {thing} fails, the error message names the file and the line that caused the problem.",
            "A {adj} benchmark showed that the new version was {num} percent faster on the same machine.",
            "Most bugs reported by users turned out to come from {thing} rather than from the core library.",
            "{group} adopted the tool after comparing it with {num} alternatives.",
            "Every change to {thing} must come with a test that fails without the change.",
            "The documentation explains why each default was chosen, not only what it is.",
            "Version numbers follow a simple rule: the middle number changes when behaviour changes.",
            "Running {thing} twice on the same input must give exactly the same output.",
        ],
    },
    "music": {
        "thing": ["the village band", "a church organ", "a chamber choir", "the folk festival",
                  "a brass quintet", "an old fiddle", "the concert hall", "a music school"],
        "templates": [
            'The conductor {person} insisted on tuning every instrument to the old organ at {place}.',
            'Rain on the tin roof of the hall once drowned out a whole concert in {year}.',
            'The band plays at weddings, funerals and every opening of a new bridge in the valley.',
            'Old programmes from {year} list {num} players, including three brothers on the same instrument.',
            'Singers from {place} are known for a slow, ornamented style that visitors find hard to copy.',
            "{thing} in {place} was founded in {year} by {person} and a handful of friends.",
            "The repertoire of {thing} mixes dance tunes from the valley with newer pieces.",
            "{person} collected more than {num} songs from older singers around {place}.",
            "A {adj} recording made in {year} is the only surviving performance of the piece.",
            "Rehearsals take place {time} in the upstairs room of the inn.",
            "The restoration of {thing} took three years, and {result}.",
            "{group} offers free lessons to children who cannot afford an instrument.",
            "Many tunes were passed on by ear and written down only much later.",
        ],
    },
    "birds": {
        "bird": ["swifts", "lapwings", "barn owls", "curlews", "white storks", "sand martins",
                 "grey herons", "skylarks", "redwings", "kingfishers"],
        "templates": [
            'Early in the morning, the reed beds at {place} are full of the noise of {bird}.',
            '{person} estimates that {bird} travel more than {num} kilometres between their breeding and wintering grounds.',
            'Volunteers walk the same route {time} and record every {bird} they see or hear.',
            'A ringed bird found at {place} in {year} had been marked eleven years earlier on the coast.',
            'Cold, wet springs make it hard for {bird} to find enough food for their young.',
            "{bird} arrive at {place} {time} and leave again before the first storms.",
            "Counts of {bird} around {place} have fallen by {num} percent since {year}.",
            "{person} has ringed {bird} on the marsh for more than twenty years.",
            "{group} built nesting boxes for {bird} on the walls of old barns.",
            "A {adj} survey found {num} breeding pairs of {bird} along the river.",
            "Draining the wet meadows removed the insects that {bird} depend on, and {result}.",
            "Visitors are asked to keep dogs on leads while {bird} are nesting.",
            "The call of {bird} is often heard long before the birds themselves are seen.",
        ],
    },
    "crafts": {
        "craft": ["pottery", "weaving", "basket making", "bookbinding", "blacksmithing",
                  "woodturning", "glass blowing", "dry-stone walling"],
        "templates": [
            'Apprentices spend their first months sweeping the floor and sharpening tools for the older workers.',
            '{person} sells most pieces at the summer market in {place}.',
            'The kiln at {place} is fired only {time}, because filling it takes several days.',
            'Prices for good {craft} have risen since {year}, but so has the cost of materials.',
            'Every maker of {craft} leaves small marks that an expert can recognise at a glance.',
            "{craft} has been practised in {place} since at least {year}.",
            "{person} learned {craft} from an uncle and now teaches evening classes.",
            "A {adj} piece of {craft} can take {num} hours of work.",
            "{group} opened a workshop where visitors can watch {craft} in progress.",
            "Good tools matter less in {craft} than patience and a steady hand.",
            "Materials for {craft} were traditionally gathered {time} from the surrounding woods.",
            "The guild that regulated {craft} in {place} kept records that survive to this day.",
            "Modern makers have {verb_past} old techniques of {craft} from museum pieces.",
        ],
    },
    "history": {
        "thing": ["the market charter", "the town walls", "a grain store", "the customs house",
                  "the old school", "a toll bridge", "the parish church", "the guildhall"],
        "templates": [
            'The oldest surviving map of {place} shows a single street, a church and a ford.',
            'Tax lists from {year} name {num} households and describe most of them as poor.',
            '{person} left money in a will to keep the road to {place2} in repair.',
            'During the plague years the market at {place} was moved outside the town walls.',
            'Stones from {thing} were reused in farm buildings across the parish.',
            "{thing} of {place} dates from {year}, although parts may be older.",
            "Records show that {place} had about {num} households at the time.",
            "{person} served as mayor of {place} for eleven years and {verb_past} {thing}.",
            "The fire of {year} destroyed most of the wooden houses near {thing}.",
            "A {adj} account written by a visiting merchant describes the market at {place}.",
            "{group} {verb_past} the surviving letters, and {result}.",
            "After the harbour silted up, trade moved to {place2} and the town declined.",
            "The population of {place} doubled within a generation once the mills opened.",
            "Local historians disagree about when {thing} was first built.",
        ],
    },
    "weather": {
        "thing": ["the rain gauge", "a weather station", "the barometer", "a wind vane",
                  "the sunshine recorder", "a snow board"],
        "templates": [
            'Farmers around {place} still judge the coming week by the colour of the evening sky.',
            'The drought of {year} lowered the reservoir so far that the old village beneath it reappeared.',
            'Hail is rare in {place}, but when it comes it strips the orchards in minutes.',
            "{person} compared the station's thermometer with a new electronic sensor for a whole year before replacing it.",
            'Winters at {place} have become milder, and snow now rarely lies for more than a few days.',
            "{thing} at {place} has recorded daily figures since {year}.",
            "The wettest month on record brought {num} millimetres of rain to {place}.",
            "{person} noticed that the first frost now arrives about two weeks later than it did in {year}.",
            "Sea fog rolls in {time} and can sit over {place} for days.",
            "A {adj} storm in {year} flattened the woods on the north side of the valley.",
            "{group} checks {thing} every morning at nine and sends the readings to the national service.",
            "Long records from small stations are valuable because they show slow changes that short records miss.",
        ],
    },
    "chess": {
        "thing": ["the club championship", "a simultaneous display", "the endgame study",
                  "a correspondence game", "the opening book", "the rating list"],
        "templates": [
            'Juniors in {place} learn the game on a large wall board before they are given a set of their own.',
            '{person} prefers quiet positional games and rarely offers a draw before the fortieth move.',
            'The club keeps a handwritten record of every game played in its league since {year}.',
            'A {adj} blunder in the final round cost the team its place in the regional division.',
            'Blitz evenings, with five minutes per player, are the most popular meetings of the year.',
            "{person} won {thing} in {year} without losing a single game.",
            "The chess club of {place} meets {time} in the back room of the library.",
            "{thing} attracted {num} players from across the region.",
            "A {adj} study of rook endings was published by {person} in {year}.",
            "Beginners are encouraged to replay old games move by move before studying openings.",
            "{group} bought new clocks for {thing} after the old ones kept stopping.",
            "Most games between evenly matched players are decided by a single careless move.",
        ],
    },
    "libraries": {
        "thing": ["the reading room", "the card catalogue", "a mobile library van", "the map collection",
                  "the rare books store", "the local studies shelf", "a returns trolley"],
        "templates": [
            "The public library at {place} opened in {year} with fewer than {num} books.",
            "{thing} is the busiest part of the building on winter afternoons.",
            "{person} catalogued the parish papers by hand over a period of six years.",
            "Every Tuesday, {thing} visits the farms and hamlets beyond {place}.",
            "A {adj} gift of books from a retired teacher doubled the size of {thing}.",
            "Children who read ten books over the summer receive a certificate at the school assembly.",
            "Damp in the basement forced the staff to move {thing} to the upper floor.",
            "{group} campaigned successfully against plans to close the branch in {year}.",
            "Most visitors now come to use the computers, print forms or ask for help with letters.",
            "The library keeps a copy of every newspaper printed in {place} since {year}.",
        ],
    },
    "beekeeping": {
        "thing": ["a wooden hive", "the honey extractor", "a swarm box", "the smoker", "a queen cage",
                  "the apiary", "a frame of brood"],
        "templates": [
            "{person} keeps {num} colonies on the edge of the heath above {place}.",
            "Bees from {thing} forage on clover, lime trees and the heather {time}.",
            "A strong colony can gather more than {num} kilograms of honey in a good year.",
            "Swarms usually leave the hive on warm, still days in late spring.",
            "{group} lends {thing} to new beekeepers for their first season.",
            "The honey from {place} is dark and strong because of the heather.",
            "Mites weakened many colonies in {year}, and {result}.",
            "A {adj} inspection every week helps the keeper to spot disease early.",
            "Beekeepers wear light-coloured clothing because bees are calmer around it.",
            "Old skeps made of straw are still displayed at the museum in {place}.",
        ],
    },
    "sailing": {
        "thing": ["the harbour wall", "a wooden dinghy", "the lifeboat station", "the tide tables",
                  "a fishing smack", "the boatyard", "the lighthouse"],
        "templates": [
            "Small boats leave {place} on the morning tide and return before the wind rises.",
            "{person} built {thing} in a shed behind the house over three winters.",
            "The crossing to {place2} takes about {num} hours in fair weather.",
            "{thing} at {place} was rebuilt in {year} after a winter gale broke it in two.",
            "Sailors at {place} learn to read the water as carefully as the sky.",
            "A {adj} regatta is held every August, with races for children and for old working boats.",
            "{group} restored {thing} and now offers trips for visitors.",
            "Fog is the greatest danger on this coast, more than wind or rocks.",
            "The crew of the lifeboat are volunteers who keep their pagers with them day and night.",
            "Charts from {year} show sandbanks that have since moved half a mile to the east.",
        ],
    },
}

# Connective sentences that can join any paragraph.
CONNECTIVES = [
    "This was not the first attempt of its kind.",
    "The details are still debated.",
    "Few people outside the region knew about it at the time.",
    "The change was gradual rather than sudden.",
    "It is worth looking at the numbers more closely.",
    "Not everyone welcomed the idea.",
    "Some of the original material has since been lost.",
    "The same pattern can be seen in several nearby towns.",
    "Later accounts tend to exaggerate its importance.",
    "Even so, the basic approach has hardly changed.",
]

# A few dozen hand-written paragraphs (English), used verbatim in a handful of places (Wikipedia
# leads, books, and some web pages), so that the sample also contains longer coherent prose.
EN_PARAGRAPHS = [
    "A map is a list of decisions. Somebody chose which roads to draw, which villages to name and which hills to leave blank. Reading an old map well means asking what its maker needed to know, and what he could afford to ignore.",
    "Bread dough changes while nobody is watching it. Yeast works slowly in a cool kitchen, and a loaf left overnight develops a sour depth that no quick recipe can imitate. Patience, in baking, is an ingredient.",
    "The harbour was small, but it faced away from the prevailing wind, and for three hundred years that single fact decided who prospered in the valley. Boats came in when every other landing was closed.",
    "Good instructions anticipate mistakes. A recipe that says 'until golden' is more useful than one that gives a time, because ovens differ and the cook can see the colour. The same is true of software manuals.",
    "Migration is a gamble repeated every year. A swallow that leaves too early meets cold weather and no insects; one that leaves too late may be caught by autumn storms over the sea. Timing is inherited, but it is also adjusted.",
    "Stone walls in the upland fields were built without mortar. Each stone rests on two below it, and the wall leans slightly inwards so that its own weight holds it together. A well-built wall can stand for centuries.",
    "When the mill closed, the town lost more than wages. The mill whistle had marked the start and end of every working day, and for months afterwards people woke at six without knowing why.",
    "A telescope does not make distant things larger so much as it makes faint things visible. The size of the main lens or mirror matters more than magnification, because it decides how much light is gathered.",
    "The first rule of the village band was that anyone could join. The second rule, added a year later, was that anyone who joined had to come to rehearsals. Membership fell by half and the music improved at once.",
    "Rivers do not stay where they are put. Over decades a meander creeps sideways, eating one bank and building the other, until a flood cuts through the neck and leaves a curved lake behind.",
    "A library catalogue is a promise that a book can be found. When the promise fails, the book is as good as lost, even if it is sitting on the right shelf a few metres away.",
    "Old railway timetables are surprisingly good historical sources. They show which towns mattered, how long journeys took, and when people were expected to travel. A cut in Sunday services often tells more than a newspaper article.",
    "Compost is slow cooking. Green material brings nitrogen, brown material brings carbon, and the heap needs air and a little water. Turned every few weeks, it becomes dark, crumbly and sweet smelling.",
    "The chess clock changed the game more than any new opening. Once time was limited, players had to decide how long a position deserved, and the ability to move quickly in simple positions became a skill in itself.",
    "Weather records are boring in the best sense. A single reading means little, but a column of numbers kept faithfully for a hundred years can show a change that no one person would ever notice.",
    "The potter explained that the wheel is the easy part. Preparing the clay, drying the pieces evenly and firing them without cracks takes years to learn, and most of it happens when the wheel is not turning.",
    "Every dictionary is out of date on the day it is printed. Words drift in meaning, new ones arrive, and old ones fade quietly from use. Lexicographers describe the language; they do not own it.",
    "The bridge was built twice. The first version, finished in a hurry, was carried away by the spring flood. The second was set on deeper foundations and has stood ever since, though nobody remembers the name of its builder.",
    "A good field notebook records the ordinary as carefully as the unusual. The rare bird is exciting, but the count of common sparrows, repeated each year, is what shows that something is changing.",
    "In small towns, the post office was also a bank, a noticeboard and a meeting place. Its closure removed a service, but it also removed one of the few places where neighbours met by chance.",
    "Learning a craft by watching is slower than learning from a book, but it teaches things that books leave out: the sound a tool makes when it is sharp, or the smell of wood that is ready to be worked.",
    "Test suites are a kind of memory. Each test records a mistake somebody once made, so that nobody has to make it again. Deleting a test without understanding it is deleting a lesson.",
    "The orchard was planted by a man who knew he would not live to see it in full fruit. Apple trees on strong roots take a decade to crop well, and they go on cropping for fifty years after that.",
    "Snow changes the sound of a town. Traffic slows, footsteps are muffled, and for a day or two the streets belong to children with sledges and to anyone willing to walk.",
]

# Other languages: sentence templates and a few hand-written paragraphs each.
DE = {
    "templates": [
        "Im Jahr {year} wurde in {place} eine neue Brücke über den Fluss gebaut.",
        "Die Gemeinde {place} hat heute etwa {num} Einwohner und liegt am Rand des Gebirges.",
        "{person} gründete dort eine kleine Werkstatt, in der bis heute Möbel gefertigt werden.",
        "Jeden Herbst findet auf dem Marktplatz ein Fest statt, zu dem viele Besucher kommen.",
        "Die alte Mühle wurde nach dem Hochwasser von {year} vollständig erneuert.",
        "Der Verein kümmert sich um die Wanderwege und um die Pflege der Obstwiesen.",
        "In den Wintermonaten ist die Straße über den Pass oft wochenlang gesperrt.",
        "Die Schule wurde {year} erweitert, weil immer mehr Familien in den Ort zogen.",
        "Das Museum zeigt Werkzeuge, Fotografien und Briefe aus dem Alltag der Bauern.",
        "Viele junge Leute verlassen das Tal, um in der Stadt zu studieren oder zu arbeiten.",
        "Der Bahnhof von {place} ist seit {year} nicht mehr in Betrieb.",
        "Im Sommer kann man im See baden, und am Ufer gibt es einen kleinen Campingplatz.",
    ],
    "paragraphs": [
        "Das Brot aus dem Holzofen braucht Zeit. Der Teig ruht über Nacht, am Morgen wird der Ofen angeheizt, und erst wenn die Steine richtig heiß sind, kommen die Laibe hinein. Wer es eilig hat, sollte lieber beim Bäcker kaufen.",
        "Die Chronik des Dorfes beginnt mit einem Streit um eine Wiese. Zwei Familien stritten über Jahrzehnte um das Recht, dort Heu zu machen, bis ein Richter die Wiese teilte. Die Grenze ist noch heute an einer Reihe alter Steine zu erkennen.",
        "Wer im Frühjahr früh aufsteht, hört die Vögel lange vor Sonnenaufgang. Zuerst singt die Amsel, dann das Rotkehlchen, und erst später setzen die Finken ein.",
    ],
}
FR = {
    "templates": [
        "La commune de {place} compte environ {num} habitants et se situe au bord de la rivière.",
        "En {year}, {person} a ouvert une boulangerie sur la place principale du village.",
        "Le marché se tient chaque samedi matin devant l'église et attire des visiteurs de toute la région.",
        "Le vieux pont de pierre a été restauré après les crues de {year}.",
        "L'association locale organise des promenades guidées pendant les mois d'été.",
        "La gare de {place} a fermé ses portes en {year}, mais le bâtiment existe toujours.",
        "On cultive encore la vigne sur les coteaux exposés au sud.",
        "La bibliothèque municipale prête des livres, des disques et des jeux de société.",
        "Les enfants du village vont à l'école primaire de {place}, à quelques kilomètres.",
        "Pendant l'hiver, la route du col est souvent fermée à cause de la neige.",
        "Le musée présente des outils agricoles et des photographies anciennes.",
        "Selon les archives, la première mention du village remonte à {year}.",
    ],
    "paragraphs": [
        "Le pain de campagne demande de la patience. La pâte repose toute la nuit dans un endroit frais, et le levain lui donne un goût légèrement acide. Un bon pain se conserve plusieurs jours sans durcir.",
        "Au bord du fleuve, les pêcheurs arrivent avant l'aube. Ils connaissent chaque courant et chaque trou d'eau, et ils parlent peu. Le soir, ils racontent leurs prises au café du port.",
        "La vieille carte de la région montre des chemins qui ont disparu depuis longtemps. Certains hameaux n'existent plus, et les noms des champs ont changé avec les propriétaires.",
    ],
}
ES = {
    "templates": [
        "El pueblo de {place} tiene unos {num} habitantes y está situado junto al río.",
        "En {year}, {person} abrió una pequeña panadería en la plaza mayor.",
        "Cada domingo se celebra un mercado donde los agricultores venden frutas y verduras.",
        "El puente de piedra fue reconstruido después de la inundación de {year}.",
        "La asociación de vecinos organiza excursiones por la sierra durante el verano.",
        "La antigua estación de tren de {place} se convirtió en un centro cultural.",
        "En las laderas del sur todavía se cultivan olivos y almendros.",
        "La biblioteca municipal ofrece talleres de lectura para niños y adultos.",
        "Durante el invierno, la carretera del puerto queda cerrada a menudo por la nieve.",
        "Según los archivos, el pueblo aparece mencionado por primera vez en {year}.",
        "El museo local muestra herramientas antiguas y fotografías de las cosechas.",
    ],
    "paragraphs": [
        "El pan de pueblo se hace despacio. La masa descansa toda la noche, y por la mañana se enciende el horno de leña. Cuando las piedras están bien calientes, el panadero mete las hogazas con una pala larga.",
        "En la plaza, los mayores se sientan a la sombra y comentan las noticias del día. Los niños juegan a la pelota hasta que oscurece, y nadie tiene prisa por volver a casa.",
        "El río baja crecido en primavera, cuando se derrite la nieve de las montañas. En verano apenas lleva agua, y se puede cruzar a pie por varios sitios.",
    ],
}
RU = [
    "Город расположен на берегу реки и известен своим старым рынком.",
    "Каждую осень жители собирают яблоки в садах за городом.",
    "Библиотека открыта с утра до вечера, и туда приходят и дети, и взрослые.",
    "Зимой дорога через перевал часто закрыта из-за снега.",
    "Старый мост через реку был построен более ста лет назад.",
    "В музее можно увидеть инструменты ремесленников и старые фотографии.",
]
ZH = [
    "这个小镇位于河边，以古老的集市而闻名。",
    "每年秋天，村民们都会到山上的果园里采摘苹果。",
    "图书馆每天早上八点开门，很多学生在这里读书。",
    "冬天山路经常因为大雪而关闭。",
    "老桥已经有一百多年的历史，现在只允许行人通过。",
    "博物馆里展出了旧时的农具和照片。",
]

# Web boilerplate: repeated on many pages and across files so that line-level dedup has work.
COOKIE_LINES = [
    "We use cookies to improve your experience. By continuing to browse you agree to our use of cookies.",
    "Accept all cookies",
    "Manage preferences",
    "This website uses cookies to ensure you get the best experience on our website. Learn more",
]
FOOTER_LINES = [
    "All rights reserved.",
    "Privacy Policy | Terms of Use | Contact",
    "Subscribe to our newsletter",
    "Follow us on social media",
    "Back to top",
    "Powered by WordPress",
    "Share this:",
    "Leave a comment",
    "Related posts",
]
MENU_WORDS = ["Home", "About", "Blog", "News", "Contact", "Shop", "Events", "Archive", "Login",
              "Register", "Search", "Menu", "Gallery", "FAQ", "Help", "Resources"]

# Low-quality and spam material.
MEDIOCRE_LINES = [
    "this is really great i think everyone should try it at least once!!",
    "So yeah that was my day lol. Anyway more posts coming soon.",
    "Click here to read more",
    "Posted by admin",
    "I dont know why but it works for me, maybe it works for you too.",
    "Thanks for reading!!! Dont forget to like and share",
    "Comments are closed.",
    "Update: still working on it, will post again later.",
    "best thing ever, 10/10 would recommend",
    "Sorry for the late post guys, been super busy.",
]
SPAM_WORDS = ["cheap", "best", "discount", "online", "free shipping", "buy now", "sale", "deal",
              "top rated", "lowest price", "coupon", "offer", "2099", "official", "review",
              "near me", "fast delivery", "guaranteed"]
SPAM_PRODUCTS = ["watches", "phone cases", "sneakers", "garden hoses", "vitamins", "flights",
                 "hotels", "car insurance", "loans", "handbags", "air fryers", "mattresses"]

# Topic-free sentences that can appear in any English article.
GENERIC_TEMPLATES = [
    "In {year}, {group} {verb_past} what remained of the earlier work, and {result}.",
    "{person} later wrote that the first winter at {place} was the hardest.",
    "A {adj} report from {year} describes the situation in some detail.",
    "Visitors to {place} can still see traces of this {time}.",
    "{group} holds an open day {time}, when the records are put on display.",
    "The story was retold by {person} in a short pamphlet printed in {place}.",
    "Funding came partly from {group} and partly from private donations.",
    "Most of the surviving documents are kept in the archive at {place}.",
    "Estimates at the time ranged from {num} to several hundred, depending on who was counting.",
    "The work was slow, {adj} and often interrupted by bad weather.",
    "{person} argued that the simplest explanation was also the most likely one.",
    "By {year} the arrangement had become a local tradition.",
    "Nobody in {place} expected the change to last, yet {result}.",
    "Photographs taken {time} show how much the area has changed.",
]

# Optional sentence openers and closers: they multiply the n-gram variety of template sentences.
OPENERS = [
    "According to local records,", "In the end,", "As far as anyone can tell,", "By most accounts,",
    "Perhaps surprisingly,", "For many years,", "Even today,", "At first,", "Later on,",
    "Despite the cost,", "Oddly enough,", "In practice,", "On the whole,", "To nobody's surprise,",
    "Within living memory,", "Some say that", "It is often said that", "Older residents recall that",
]
CLOSERS = [
    "although this is still disputed", "at least according to the parish records",
    "or so the story goes", "which surprised many visitors", "despite several setbacks",
    "as the old photographs show", "though few people noticed at the time",
    "a fact that is often forgotten", "for reasons that are not entirely clear",
    "much to the annoyance of the neighbours", "as a local newspaper reported",
    "with help from friends and neighbours",
]

//! Words the generated names are made of: what a production company's
//! data looks like, so search, sorting and text columns behave as in life.

pub(crate) const ORG_FIRST: &[&str] = &[
    "Neon", "Golden", "Electric", "Silver", "Blue", "Night", "Sunset", "Iron", "Velvet", "Crystal",
    "Northern", "Wild", "Bright", "Echo", "Atlas", "Summit", "Harbor", "Red", "Lunar", "Solar",
];

pub(crate) const ORG_SECOND: &[&str] = &[
    "Horizon", "Stage", "Pulse", "Lantern", "Arrow", "Wave", "Orbit", "Field", "Signal", "Crown",
    "Bridge", "Spark", "Canyon", "River", "Forest", "Tower",
];

pub(crate) const ORG_SUFFIX: &[&str] = &[
    "Events",
    "Productions",
    "Live",
    "Entertainment",
    "Experiences",
    "Presents",
    "Group",
    "Agency",
];

pub(crate) const PROJECTS: &[&str] = &[
    "Festivals",
    "Touring",
    "Corporate Events",
    "Brand Activations",
    "Conferences",
    "Sports",
    "Residencies",
    "Private Events",
    "Awards Shows",
    "Product Launches",
    "Trade Shows",
    "Fan Experiences",
    "Club Nights",
    "Broadcast Specials",
];

pub(crate) const PRODUCTIONS: &[&str] = &[
    "Electric Daisy Carnival",
    "Summer Series",
    "Winter Lights",
    "Bass Canyon",
    "Harvest Fest",
    "City Sounds",
    "Desert Dreams",
    "Coastline Jam",
    "Midnight Market",
    "Skyline Sessions",
    "Global Summit",
    "Launch Week",
    "Championship Weekend",
    "Holiday Gala",
    "Arena Tour",
    "Street Food Festival",
];

pub(crate) const CITIES: &[&str] = &[
    "Las Vegas",
    "Orlando",
    "Mexico City",
    "London",
    "Berlin",
    "Tokyo",
    "Sydney",
    "Toronto",
    "Chicago",
    "New York",
    "Austin",
    "Miami",
    "Amsterdam",
    "Barcelona",
    "Sao Paulo",
    "Stockholm",
    "Zurich",
    "Denver",
    "Seattle",
    "Los Angeles",
];

pub(crate) const VENUES: &[&str] = &[
    "Las Vegas Motor Speedway",
    "Tinker Field",
    "Autodromo Hermanos Rodriguez",
    "Finsbury Park",
    "Tempelhof Field",
    "Makuhari Messe",
    "Sydney Showground",
    "Budweiser Stage",
    "Soldier Field",
    "Randall's Island",
    "Zilker Park",
    "Bayfront Park",
    "NDSM Wharf",
    "Parc del Forum",
    "Interlagos",
    "Gardet",
    "Hallenstadion",
    "Red Rocks",
    "Seattle Center",
    "Rose Bowl",
];

/// Top-level workspaces and their `workspace_type`.
pub(crate) const WORKSPACES: &[(&str, &str)] = &[
    ("Kinetic Field", "stage"),
    ("Main Stage", "stage"),
    ("Circuit Grounds", "stage"),
    ("Cosmic Meadow", "stage"),
    ("Neon Garden", "stage"),
    ("Front of House", "area"),
    ("Backstage", "area"),
    ("Box Office", "venue"),
    ("Production Office", "office"),
    ("Campground", "zone"),
    ("VIP Village", "zone"),
    ("Artist Relations", "department"),
    ("Site Operations", "department"),
    ("Security", "team"),
    ("Hospitality", "department"),
    ("Medical", "team"),
];

/// Sub-workspaces and their `workspace_type`.
pub(crate) const SUB_WORKSPACES: &[(&str, &str)] = &[
    ("Site Operations", "department"),
    ("Lighting", "department"),
    ("Audio", "department"),
    ("Video", "department"),
    ("Rigging", "team"),
    ("Logistics", "department"),
    ("Stage Management", "team"),
    ("Catering", "area"),
    ("Green Room", "area"),
    ("Dressing Rooms", "area"),
    ("Load-in Dock", "zone"),
    ("Power", "team"),
    ("Pyro and Effects", "team"),
    ("Guest Services", "team"),
];

pub(crate) const TASK_VERBS: &[&str] = &[
    "Confirm",
    "Book",
    "Review",
    "Send",
    "Finalize",
    "Order",
    "Schedule",
    "Inspect",
    "Approve",
    "Update",
    "Test",
    "Collect",
    "Draft",
    "Sign off",
    "Coordinate",
];

pub(crate) const TASK_OBJECTS: &[&str] = &[
    "stage plot",
    "rider",
    "hotel block",
    "backline",
    "power distribution",
    "barricade plan",
    "radio channels",
    "catering order",
    "artist transport",
    "credentials",
    "site map",
    "rigging plot",
    "crowd management plan",
    "insurance certificate",
    "noise permit",
    "weather contingency",
    "load-in schedule",
    "LED wall",
    "generator fuel",
    "medical plan",
    "ticket scanners",
    "signage",
    "VIP wristbands",
    "fire marshal walkthrough",
];

pub(crate) const BUDGET_CATEGORIES: &[&str] = &[
    "Staging",
    "Audio",
    "Lighting",
    "Video",
    "Security",
    "Catering",
    "Talent",
    "Travel",
    "Permits",
    "Insurance",
    "Marketing",
    "Site Operations",
    "Transportation",
    "Production Office",
    "Hospitality",
    "Medical",
    "Power",
    "Sanitation",
];

pub(crate) const VENDOR_FIRST: &[&str] = &[
    "Apex",
    "Clair",
    "Solotech",
    "PRG",
    "Upstaging",
    "Mountain",
    "Stageco",
    "Eighth Day",
    "Gallagher",
    "Brite",
    "Sunbelt",
    "Aggreko",
    "Premier",
    "Allied",
    "Global",
    "Pacific",
    "Atlantic",
    "Summit",
    "Keystone",
    "Pinnacle",
];

pub(crate) const VENDOR_SECOND: &[&str] = &[
    "Staging",
    "Audio",
    "Lighting",
    "Video",
    "Rentals",
    "Power",
    "Security",
    "Catering",
    "Transport",
    "Fencing",
    "Sanitation",
    "Logistics",
];

pub(crate) const LINE_ITEMS: &[&str] = &[
    "Labor",
    "Equipment rental",
    "Delivery",
    "Overtime",
    "Per diem",
    "Fuel",
    "Crew meals",
    "Setup",
    "Teardown",
    "Travel",
    "Consumables",
    "Service fee",
];

pub(crate) const ASSETS: &[(&str, &str)] = &[
    ("Line array cabinet", "audio"),
    ("Subwoofer", "audio"),
    ("Digital console", "audio"),
    ("Wireless mic kit", "audio"),
    ("Moving head", "lighting"),
    ("LED wash", "lighting"),
    ("Follow spot", "lighting"),
    ("LED wall panel", "video"),
    ("Media server", "video"),
    ("Camera chain", "video"),
    ("Chain hoist", "rigging"),
    ("Truss section", "rigging"),
    ("Generator", "power"),
    ("Power distro", "power"),
    ("Radio", "communications"),
    ("Golf cart", "vehicles"),
    ("Forklift", "vehicles"),
    ("Barricade section", "site"),
];

pub(crate) const SCHEDULE_ITEMS: &[(&str, &str)] = &[
    ("Load in", "load_in"),
    ("Soundcheck", "soundcheck"),
    ("Doors", "doors"),
    ("Opening set", "performance"),
    ("Headliner set", "performance"),
    ("Changeover", "changeover"),
    ("Production meeting", "meeting"),
    ("Live broadcast", "broadcast"),
    ("Load out", "load_out"),
    ("Safety briefing", "other"),
];

pub(crate) const LOCATIONS: &[&str] = &[
    "",
    "Main Stage",
    "Backstage",
    "Front of House",
    "Green Room",
    "Loading Dock",
    "Press Tent",
];

pub(crate) const CREW_ROLES: &[&str] = &[
    "Stage Manager",
    "Lighting Director",
    "A1",
    "A2",
    "Rigger",
    "Stagehand",
    "Video Engineer",
    "Production Assistant",
    "Runner",
    "Security Lead",
    "Site Coordinator",
    "Backline Tech",
    "Camera Operator",
    "Electrician",
];

pub(crate) const FIRST_NAMES: &[&str] = &[
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Maria", "Luis", "Aiko", "Kenji", "Olivia", "Noah", "Emma", "Liam", "Sofia", "Mateo", "Hannah",
    "Lukas", "Chloe", "Omar", "Priya", "Wei", "Zara", "Elias",
];

pub(crate) const LAST_NAMES: &[&str] = &[
    "Garcia",
    "Smith",
    "Johnson",
    "Lee",
    "Brown",
    "Martinez",
    "Nguyen",
    "Muller",
    "Rossi",
    "Tanaka",
    "Silva",
    "Kowalski",
    "Andersson",
    "Dubois",
    "Khan",
    "Okafor",
    "Cohen",
    "Park",
    "Lopez",
    "Walsh",
    "Novak",
    "Haddad",
];

pub(crate) const DOCUMENTS: &[(&str, &str, &str)] = &[
    ("Artist contract", "contract", "application/pdf"),
    ("Technical rider", "rider", "application/pdf"),
    ("Stage plot", "stage_plot", "image/png"),
    ("Event permit", "permit", "application/pdf"),
    ("Certificate of insurance", "insurance", "application/pdf"),
    ("Site plan", "plan", "application/pdf"),
    ("Invoice scan", "invoice_scan", "image/jpeg"),
    (
        "Run of show",
        "other",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
];

pub(crate) const TAGS: &[&str] = &[
    "VIP",
    "Urgent",
    "Load-in",
    "Backline",
    "Weather",
    "Safety",
    "Union",
    "Overnight",
    "Remote",
    "Sponsor",
    "Broadcast",
    "Accessibility",
    "Sustainability",
    "Local hire",
    "International",
    "Follow up",
];

/// Currencies organizations keep their books in, with their minor units
/// (ISO 4217, as `private.currency_minor_unit` says), a weight (how many
/// organizations in a thousand use it) and a time zone of a typical
/// organization using it.
pub(crate) const CURRENCIES: &[(&str, u8, u32, &str)] = &[
    ("USD", 2, 450, "America/Los_Angeles"),
    ("EUR", 2, 200, "Europe/Berlin"),
    ("GBP", 2, 100, "Europe/London"),
    ("CAD", 2, 50, "America/Toronto"),
    ("AUD", 2, 50, "Australia/Sydney"),
    ("JPY", 0, 40, "Asia/Tokyo"),
    ("MXN", 2, 30, "America/Mexico_City"),
    ("BRL", 2, 30, "America/Sao_Paulo"),
    ("SEK", 2, 20, "Europe/Stockholm"),
    ("CHF", 2, 30, "Europe/Zurich"),
];

/// A name made of `first` and `second` lists, distinct for every `n`
/// (a number is added once the combinations run out).
pub(crate) fn combined(first: &[&str], second: &[&str], n: usize) -> String {
    let a = first[n % first.len()];
    let b = second[(n / first.len()) % second.len()];
    let round = n / (first.len() * second.len());
    if round == 0 {
        format!("{a} {b}")
    } else {
        format!("{a} {b} {}", round + 1)
    }
}

/// `name` as a slug: lowercase ASCII letters and digits, words joined by `-`.
pub(crate) fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    out.truncate(63);
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_names_are_distinct() {
        let names: std::collections::HashSet<String> = (0..1_000)
            .map(|n| combined(VENDOR_FIRST, VENDOR_SECOND, n).to_lowercase())
            .collect();
        assert_eq!(names.len(), 1_000);
    }

    #[test]
    fn slugs_follow_the_nodes_rule() {
        assert_eq!(slug("Pyro and Effects 2"), "pyro-and-effects-2");
        assert_eq!(slug("Load-in Dock"), "load-in-dock");
        assert_eq!(slug("Sao Paulo 2025"), "sao-paulo-2025");
    }
}

//! The plan: the whole tree and how many rows each node and organization
//! gets, drawn from the seed before anything is written. Every table's
//! generator reads it, so each can run on its own (in any order, two at a
//! time) and still name rows of the others by their ordinals.

use std::ops::Range;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use showtree_core::{MAX_DEPTH, NodeKind};
use uuid::Uuid;

use super::ids::{IMPORT_SECS, Ids};
use super::table::Table;
use super::words::CURRENCIES;

/// The parent of a root.
pub(crate) const NO_PARENT: u32 = u32::MAX;
/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Organizations and projects at scale 1 (DESIGN.md section 6).
const ORGS_AT_SCALE_1: f64 = 1_000.0;
const PROJECTS_AT_SCALE_1: f64 = 100_000.0;
/// Organization sizes (in projects) follow a Zipf law of this exponent:
/// at scale 1 the largest has about 18,000 projects, the median 19.
const ORG_ZIPF: f64 = 1.1;
/// 2021-01-01: the oldest organization was created after it.
const FIRST_ORG_SECS: i64 = 1_609_459_200;

/// Children per node, on average (log-normal, at least one).
const PRODUCTIONS_PER_PROJECT: f64 = 2.0;
const ACTIVATIONS_PER_PRODUCTION: f64 = 1.5;
const WORKSPACES_PER_PARENT: f64 = 2.0;
/// The chance that a workspace at depth 4, 5, ... 8 has sub-workspaces:
/// some nest two or three levels, a few reach the last level (9).
const SUB_WORKSPACE_CHANCE: [f64; 5] = [0.15, 0.15, 0.10, 0.05, 0.03];
/// Share of workspaces that are restricted.
const RESTRICTED_SHARE: f64 = 0.02;

/// The tables whose rows the plan counts per node.
pub(crate) const NODE_TABLES: [Table; 6] = [
    Table::Tasks,
    Table::BudgetLines,
    Table::Invoices,
    Table::ScheduleItems,
    Table::CrewAssignments,
    Table::Documents,
];

/// Rows per node of each table in [`NODE_TABLES`] by kind (organization,
/// project, production, activation, workspace), before the node's activity
/// weight. Documents count series (a series has 1.6 versions on average).
const NODE_MEANS: [[f64; 5]; 6] = [
    [0.0, 0.5, 1.5, 4.0, 2.5],
    [0.0, 0.5, 2.0, 1.2, 0.4],
    [0.0, 0.1, 1.0, 0.5, 0.15],
    [0.0, 0.0, 0.0, 2.0, 0.8],
    [0.0, 0.0, 0.0, 1.2, 0.6],
    [0.0, 0.1, 0.4, 0.3, 0.05],
];
/// Spread of a node's activity weight (log-normal sigma): most nodes are
/// quiet, a few carry hundreds of rows.
const ACTIVITY_SIGMA: f64 = 1.0;

/// Streams of the plan's random draws (row generators use the table's number).
const PLAN_STREAM: u64 = 1_000;
const ALLOCATION_STREAM: u64 = 1_001;

/// One organization's share of the data.
#[derive(Debug, Clone)]
pub(crate) struct Org {
    /// Its nodes (pre-order, the root first).
    pub nodes: Range<u32>,
    /// Projects in it.
    pub projects: u32,
    /// Reference data: users (who hold its grants), vendors, people, assets, tags.
    pub users: u32,
    pub vendors: u32,
    pub people: u32,
    pub assets: u32,
    pub tags: u32,
    /// Ordinal of its first row in each table counted up front (users,
    /// reference data and [`NODE_TABLES`]); 0 elsewhere.
    pub first: [u64; Table::COUNT],
    /// Rows in each of those tables.
    pub rows: [u64; Table::COUNT],
    /// Index in [`CURRENCIES`].
    pub currency: usize,
}

impl Org {
    /// The root node.
    pub fn root(&self) -> u32 {
        self.nodes.start
    }
}

/// The tree, column-wise; node `i` is row `i` of `showtree.nodes`.
#[derive(Debug, Default)]
pub(crate) struct Nodes {
    pub id: Vec<Uuid>,
    pub parent: Vec<u32>,
    /// Index of the node's organization in [`Plan::orgs`].
    pub org: Vec<u32>,
    pub kind: Vec<NodeKind>,
    pub depth: Vec<u8>,
    /// Position among its siblings (names are made of it).
    pub sibling: Vec<u32>,
    /// Unix seconds.
    pub created: Vec<i64>,
    /// Unix day of the node's event (an activation's first day, inherited
    /// by its workspaces; a target date for projects and productions).
    pub day: Vec<i32>,
    pub restricted: Vec<bool>,
    /// Rows of each of [`NODE_TABLES`] at the node.
    pub counts: [Vec<u16>; 6],
}

impl Nodes {
    fn push(
        &mut self,
        parent: u32,
        org: u32,
        kind: NodeKind,
        sibling: u32,
        created: i64,
        day: i32,
    ) -> u32 {
        let i = u32::try_from(self.parent.len()).expect("fewer than 2^32 nodes");
        let depth = if parent == NO_PARENT {
            0
        } else {
            self.depth[parent as usize] + 1
        };
        self.parent.push(parent);
        self.org.push(org);
        self.kind.push(kind);
        self.depth.push(depth);
        self.sibling.push(sibling);
        self.created.push(created.min(IMPORT_SECS - DAY));
        self.day.push(day);
        self.restricted.push(false);
        i
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Root..parent of node `v`, as ids.
    pub fn ancestors(&self, v: u32) -> Vec<Uuid> {
        let mut up = Vec::with_capacity(usize::from(self.depth[v as usize]));
        let mut p = self.parent[v as usize];
        while p != NO_PARENT {
            up.push(self.id[p as usize]);
            p = self.parent[p as usize];
        }
        up.reverse();
        up
    }
}

/// Everything the generators need to agree on.
#[derive(Debug)]
pub(crate) struct Plan {
    pub seed: u64,
    pub orgs: Vec<Org>,
    pub nodes: Nodes,
}

/// Organizations and projects at `scale` (exact).
pub(crate) fn orgs_and_projects(scale: f64) -> (u32, u32) {
    let orgs = ((ORGS_AT_SCALE_1 * scale).round() as u32).max(1);
    let projects = ((PROJECTS_AT_SCALE_1 * scale).round() as u32).max(orgs);
    (orgs, projects)
}

impl Plan {
    /// Draws the plan of `scale` from `seed`.
    pub(crate) fn new(scale: f64, seed: u64) -> Plan {
        let (org_count, project_count) = orgs_and_projects(scale);
        let projects = allocate(
            project_count,
            org_count,
            &mut rng(seed, ALLOCATION_STREAM, 0),
        );
        let mut nodes = Nodes::default();
        let mut orgs = Vec::with_capacity(projects.len());
        for (o, &p) in projects.iter().enumerate() {
            let o = u32::try_from(o).expect("fewer than 2^32 organizations");
            orgs.push(grow_org(
                &mut nodes,
                o,
                p,
                &mut rng(seed, PLAN_STREAM, u64::from(o)),
            ));
        }
        let mut cursor = Ids::new(seed).cursor(Table::Nodes);
        nodes.id = (0..nodes.len() as u64).map(|i| cursor.at(i)).collect();

        let mut next = [0u64; Table::COUNT];
        for org in &mut orgs {
            org.rows[Table::Users as usize] = u64::from(org.users);
            org.rows[Table::Vendors as usize] = u64::from(org.vendors);
            org.rows[Table::People as usize] = u64::from(org.people);
            org.rows[Table::Assets as usize] = u64::from(org.assets);
            org.rows[Table::Tags as usize] = u64::from(org.tags);
            for (t, table) in NODE_TABLES.iter().enumerate() {
                org.rows[*table as usize] = org
                    .nodes
                    .clone()
                    .map(|v| u64::from(nodes.counts[t][v as usize]))
                    .sum();
            }
            org.first = next;
            for (n, rows) in next.iter_mut().zip(org.rows) {
                *n += rows;
            }
        }
        Plan { seed, orgs, nodes }
    }

    /// The random stream of `table`'s rows in organization `org`.
    pub(crate) fn rng(&self, table: Table, org: u32) -> StdRng {
        rng(self.seed, table as u64, u64::from(org))
    }
}

/// An independent generator for (`stream`, `index`) of `seed`.
pub(crate) fn rng(seed: u64, stream: u64, index: u64) -> StdRng {
    StdRng::seed_from_u64(mix(mix(seed ^ mix(stream)) ^ index))
}

/// splitmix64's finalizer: nearby inputs give unrelated outputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A standard normal variate (Box-Muller).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln stays finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal factor of mean 1.
pub(crate) fn activity(rng: &mut StdRng, sigma: f64) -> f64 {
    (sigma * normal(rng) - sigma * sigma / 2.0).exp()
}

/// A count of mean about `mean` (log-normal, rounded at random), at least `min`.
pub(crate) fn skewed(rng: &mut StdRng, mean: f64, min: u32) -> u32 {
    let x = mean * activity(rng, 0.6) + rng.random::<f64>();
    (x.floor() as u32).max(min)
}

/// Splits `total` projects over `orgs` organizations, Zipf-like (each at
/// least one), by largest remainder.
fn allocate(total: u32, orgs: u32, rng: &mut StdRng) -> Vec<u32> {
    let weights: Vec<f64> = (0..orgs)
        .map(|i| f64::from(i + 1).powf(-ORG_ZIPF) * activity(rng, 0.3))
        .collect();
    let sum: f64 = weights.iter().sum();
    let free = f64::from(total - orgs);
    let exact: Vec<f64> = weights.iter().map(|w| free * w / sum).collect();
    let mut shares: Vec<u32> = exact.iter().map(|x| 1 + x.floor() as u32).collect();
    let assigned: u32 = shares.iter().sum();
    let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
    by_remainder.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in by_remainder.iter().take((total - assigned) as usize) {
        shares[i] += 1;
    }
    shares
}

/// Grows organization `o` with `projects` projects into `nodes`.
fn grow_org(nodes: &mut Nodes, o: u32, projects: u32, rng: &mut StdRng) -> Org {
    let start = u32::try_from(nodes.len()).expect("fewer than 2^32 nodes");
    let created = FIRST_ORG_SECS + rng.random_range(0..900) * DAY + rng.random_range(0..DAY);
    let root = nodes.push(
        NO_PARENT,
        o,
        NodeKind::Organization,
        o,
        created,
        day_of(created),
    );
    let mut workspaces = Vec::new();
    for p in 0..projects {
        let created = nodes.created[root as usize] + rng.random_range(0..400 * DAY);
        let project = nodes.push(
            root,
            o,
            NodeKind::Project,
            p,
            created,
            day_of(created) + rng.random_range(30..365),
        );
        for q in 0..skewed(rng, PRODUCTIONS_PER_PROJECT, 1) {
            let created = nodes.created[project as usize] + rng.random_range(0..200 * DAY);
            let production = nodes.push(
                project,
                o,
                NodeKind::Production,
                q,
                created,
                day_of(created) + rng.random_range(30..365),
            );
            for a in 0..skewed(rng, ACTIVATIONS_PER_PRODUCTION, 1) {
                let created = nodes.created[production as usize] + rng.random_range(0..200 * DAY);
                let day = day_of(created) + rng.random_range(30..365);
                let activation = nodes.push(production, o, NodeKind::Activation, a, created, day);
                for w in 0..skewed(rng, WORKSPACES_PER_PARENT, 1) {
                    grow_workspace(nodes, activation, o, w, rng, &mut workspaces);
                }
            }
        }
    }
    let end = u32::try_from(nodes.len()).expect("fewer than 2^32 nodes");
    for &w in &workspaces {
        nodes.restricted[w as usize] = rng.random_bool(RESTRICTED_SHARE);
    }
    for v in start..end {
        let kind = nodes.kind[v as usize] as usize;
        let weight = activity(rng, ACTIVITY_SIGMA);
        for (t, means) in NODE_MEANS.iter().enumerate() {
            let n = (means[kind] * weight + rng.random::<f64>()).floor();
            nodes.counts[t].push(n.min(f64::from(u16::MAX)) as u16);
        }
    }
    let jitter = activity(rng, 0.3);
    let p = f64::from(projects);
    Org {
        nodes: start..end,
        projects,
        users: 4 + (0.8 * p * jitter).round() as u32,
        vendors: 5 + (0.3 * p).round() as u32,
        people: 10 + (1.5 * p * jitter).round() as u32,
        assets: 10 + (1.0 * p).round() as u32,
        tags: (8 + projects / 10).min(300),
        first: [0; Table::COUNT],
        rows: [0; Table::COUNT],
        currency: pick_weighted(rng, CURRENCIES.iter().map(|c| c.2)),
    }
}

/// A workspace under `parent`, and perhaps sub-workspaces under it.
fn grow_workspace(
    nodes: &mut Nodes,
    parent: u32,
    org: u32,
    sibling: u32,
    rng: &mut StdRng,
    all: &mut Vec<u32>,
) {
    let day = nodes.day[parent as usize];
    // made after its parent, and before the event (which it shares)
    let lead = (i64::from(day) * DAY - nodes.created[parent as usize]) / 2;
    let created = nodes.created[parent as usize] + rng.random_range(0..lead.clamp(HOUR, 60 * DAY));
    let w = nodes.push(parent, org, NodeKind::Workspace, sibling, created, day);
    all.push(w);
    let depth = usize::from(nodes.depth[w as usize]);
    // workspaces start at depth 4; the last level (MAX_DEPTH - 1) has no children
    let chance = if depth + 1 < MAX_DEPTH {
        SUB_WORKSPACE_CHANCE.get(depth - 4).copied().unwrap_or(0.0)
    } else {
        0.0
    };
    if rng.random_bool(chance) {
        for s in 0..skewed(rng, WORKSPACES_PER_PARENT, 1) {
            grow_workspace(nodes, w, org, s, rng, all);
        }
    }
}

/// Index of an item drawn with the given weights.
pub(crate) fn pick_weighted(rng: &mut StdRng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// The Unix day of Unix seconds.
pub(crate) fn day_of(secs: i64) -> i32 {
    i32::try_from(secs.div_euclid(DAY)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_deterministic_and_keeps_the_tree_rules() {
        let a = Plan::new(0.002, 9);
        let b = Plan::new(0.002, 9);
        assert_eq!(a.nodes.id, b.nodes.id);
        assert_eq!(a.nodes.counts, b.nodes.counts);
        assert_eq!(a.orgs.len(), 2);
        let projects = a
            .nodes
            .kind
            .iter()
            .filter(|&&k| k == NodeKind::Project)
            .count();
        assert_eq!(projects, 200);
        for v in 0..a.nodes.len() {
            let parent = a.nodes.parent[v];
            let parent_kind = (parent != NO_PARENT).then(|| a.nodes.kind[parent as usize]);
            assert!(
                a.nodes.kind[v].may_have_parent(parent_kind),
                "kind rule at {v}"
            );
            assert!(usize::from(a.nodes.depth[v]) < MAX_DEPTH);
            if let Some(p) = parent_kind.map(|_| parent as usize) {
                assert!(p < v, "parents come first");
                assert_eq!(a.nodes.org[p], a.nodes.org[v]);
            }
        }
        assert_ne!(Plan::new(0.002, 10).nodes.id, a.nodes.id);
    }

    #[test]
    fn projects_are_shared_out_skewed_and_whole() {
        let shares = allocate(100_000, 1_000, &mut rng(1, ALLOCATION_STREAM, 0));
        assert_eq!(shares.iter().sum::<u32>(), 100_000);
        assert!(shares.iter().all(|&s| s >= 1));
        let mut sorted = shares.clone();
        sorted.sort_unstable();
        assert!(sorted[999] > 5_000, "a few huge: {}", sorted[999]);
        assert!(sorted[500] < 60, "many small: median {}", sorted[500]);
    }
}

//! The benchmark's tree, generated deterministically from a seed and kept in
//! memory: it decides what to insert, where samples are drawn from, and what
//! every query must answer.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use showtree_core::{MAX_DEPTH, NodeKind};
use uuid::Uuid;

/// Index of a node in [`Tree`]'s columns.
pub(crate) type Ix = u32;

/// The parent of a root.
const NO_PARENT: Ix = Ix::MAX;

/// Deepest depth a node may have (the organization is depth 0).
const LAST_DEPTH: u8 = MAX_DEPTH as u8 - 1;

/// 2025-01-01T00:00:00Z: the (fake) creation time of the first node, so the
/// uuid v7 ids are the same on every run with the same seed.
const EPOCH_MS: u64 = 1_735_689_600_000;

/// Organization sizes follow a Zipf law of this exponent: a few huge
/// tenants, a long tail of small ones.
const ORG_ZIPF: f64 = 1.2;

/// One organization per this many nodes.
const NODES_PER_ORG: u32 = 1_000;

/// The dedicated subtree the move test moves: a production under one of two
/// dedicated projects of the largest organization.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixture {
    /// The production that moves.
    pub production: Ix,
    /// The project it starts under (and returns to).
    pub home: Ix,
    /// The project it visits.
    pub away: Ix,
}

/// The tree, column-wise (a million nodes stay small).
#[derive(Debug)]
pub(crate) struct Tree {
    /// Node ids (uuid v7, from the seed).
    pub id: Vec<Uuid>,
    /// Parent index, [`NO_PARENT`] for organizations.
    parent: Vec<Ix>,
    /// The organization (root) each node belongs to.
    pub org: Vec<Ix>,
    /// Level of each node.
    pub kind: Vec<NodeKind>,
    /// Number of ancestors.
    pub depth: Vec<u8>,
    /// Position among its siblings, which names and slugs are made of.
    pub sibling: Vec<u32>,
    /// Node indices by depth, in insertion order.
    pub levels: Vec<Vec<Ix>>,
    /// Children of node `v`: `children[child_start[v]..child_start[v + 1]]`, by id.
    child_start: Vec<Ix>,
    children: Vec<Ix>,
    /// All nodes in pre-order, children by id: the order of `ancestors || id`.
    order: Vec<Ix>,
    /// Position of each node in `order`.
    pre: Vec<Ix>,
    /// Size of each node's subtree, itself included.
    size: Vec<Ix>,
    /// The subtree the move test moves.
    pub fixture: Fixture,
}

/// Collects nodes while the tree grows.
struct Builder {
    rng: StdRng,
    parent: Vec<Ix>,
    org: Vec<Ix>,
    kind: Vec<NodeKind>,
    depth: Vec<u8>,
    sibling: Vec<u32>,
}

impl Builder {
    fn push(&mut self, parent: Option<Ix>, kind: NodeKind, sibling: u32) -> Ix {
        let v = ix(self.parent.len());
        let (org, depth) = match parent {
            Some(p) => (self.org[p as usize], self.depth[p as usize] + 1),
            None => (v, 0),
        };
        self.parent.push(parent.unwrap_or(NO_PARENT));
        self.org.push(org);
        self.kind.push(kind);
        self.depth.push(depth);
        self.sibling.push(sibling);
        v
    }

    /// Gives node `v` a subtree of `budget` nodes in all (itself included).
    fn grow(&mut self, v: Ix, budget: u32) {
        let rest = budget.saturating_sub(1);
        if rest == 0 {
            return;
        }
        let kind = self.kind[v as usize];
        let depth = self.depth[v as usize];
        let (child_kind, exponent) = match kind {
            NodeKind::Organization => (NodeKind::Project, 0.45),
            NodeKind::Project => (NodeKind::Production, 0.4),
            NodeKind::Production => (NodeKind::Activation, 0.35),
            NodeKind::Activation => (NodeKind::Workspace, 0.7),
            NodeKind::Workspace => (NodeKind::Workspace, 0.6),
        };
        // Children on the last level cannot have children of their own, so
        // the whole budget becomes leaves there (no node is ever lost).
        let count = if depth + 1 == LAST_DEPTH {
            rest
        } else {
            let spread = self.rng.random_range(0.5..1.5);
            ((f64::from(rest).powf(exponent) * spread).round() as u32).clamp(1, rest)
        };
        let parts = self.split(rest, count);
        for (i, part) in parts.into_iter().enumerate() {
            let child = self.push(Some(v), child_kind, ix(i));
            self.grow(child, part);
        }
    }

    /// Splits `total` into `count` parts of at least 1, log-normally skewed
    /// (some siblings are much larger than others, as in real trees).
    fn split(&mut self, total: u32, count: u32) -> Vec<u32> {
        let weights: Vec<f64> = (0..count)
            .map(|_| (1.2 * standard_normal(&mut self.rng)).exp())
            .collect();
        let sum: f64 = weights.iter().sum();
        let free = f64::from(total - count);
        let mut parts: Vec<u32> = weights
            .iter()
            .map(|w| 1 + (free * w / sum).floor() as u32)
            .collect();
        let assigned: u32 = parts.iter().sum();
        for _ in assigned..total {
            let i = self.rng.random_range(0..parts.len());
            parts[i] += 1;
        }
        parts
    }
}

/// A standard normal variate (Box-Muller), so no extra crate is needed.
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln stays finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Indices fit in u32: the tree is limited to `u32::MAX` nodes by construction.
pub(crate) fn ix(i: usize) -> Ix {
    Ix::try_from(i).expect("the tree holds fewer than 2^32 nodes")
}

impl Tree {
    /// Generates at least `nodes` nodes (the move fixture of
    /// `move_descendants` counts toward them when it fits) from `seed`.
    pub fn generate(nodes: u32, move_descendants: u32, seed: u64) -> Tree {
        Tree::generate_orgs(nodes, move_descendants, seed, None)
    }

    /// Like [`Tree::generate`], with every node in one organization (the
    /// access benchmark's tenant).
    pub fn generate_one_org(nodes: u32, move_descendants: u32, seed: u64) -> Tree {
        Tree::generate_orgs(nodes, move_descendants, seed, Some(1))
    }

    fn generate_orgs(nodes: u32, move_descendants: u32, seed: u64, orgs: Option<u32>) -> Tree {
        let mut b = Builder {
            rng: StdRng::seed_from_u64(seed),
            parent: Vec::new(),
            org: Vec::new(),
            kind: Vec::new(),
            depth: Vec::new(),
            sibling: Vec::new(),
        };
        // The fixture: two dedicated projects, the production, and under it
        // up to 10 activations sharing the workspaces (10 x 999 by default).
        let activations = (move_descendants / 100).clamp(1, 10);
        let fixture_size = 3 + move_descendants;
        let random = if nodes > fixture_size {
            nodes - fixture_size
        } else {
            nodes
        }
        .max(2);

        let orgs = orgs.unwrap_or((random / NODES_PER_ORG).clamp(1, random / 2));
        let weights: Vec<f64> = (1..=orgs).map(|i| f64::from(i).powf(-ORG_ZIPF)).collect();
        let sum: f64 = weights.iter().sum();
        let mut budgets: Vec<u32> = weights
            .iter()
            .map(|w| ((f64::from(random) * w / sum).floor() as u32).max(2))
            .collect();
        let assigned: u32 = budgets.iter().sum();
        // rounding leftovers go to the largest organization
        budgets[0] = (budgets[0] + random).saturating_sub(assigned).max(2);
        for (i, budget) in budgets.into_iter().enumerate() {
            let org = b.push(None, NodeKind::Organization, ix(i));
            b.grow(org, budget);
        }

        let projects = ix(b.parent.iter().filter(|&&p| p == 0).count());
        let home = b.push(Some(0), NodeKind::Project, projects);
        let away = b.push(Some(0), NodeKind::Project, projects + 1);
        let production = b.push(Some(home), NodeKind::Production, 0);
        let workspaces = move_descendants.saturating_sub(activations);
        for a in 0..activations {
            let activation = b.push(Some(production), NodeKind::Activation, a);
            let mine = workspaces / activations + u32::from(a < workspaces % activations);
            for w in 0..mine {
                b.push(Some(activation), NodeKind::Workspace, w);
            }
        }

        Tree::finish(
            b,
            Fixture {
                production,
                home,
                away,
            },
        )
    }

    fn finish(mut b: Builder, fixture: Fixture) -> Tree {
        let n = b.parent.len();
        let mut levels: Vec<Vec<Ix>> = vec![Vec::new(); usize::from(LAST_DEPTH) + 1];
        for v in 0..n {
            levels[usize::from(b.depth[v])].push(ix(v));
        }
        levels.retain(|l| !l.is_empty());

        // Ids in insertion order (level by level): uuid v7 with a fake clock
        // one millisecond apart, random bits from the seed.
        let mut id = vec![Uuid::nil(); n];
        for (t, &v) in levels.iter().flatten().enumerate() {
            let bytes: [u8; 10] = b.rng.random();
            id[v as usize] =
                uuid::Builder::from_unix_timestamp_millis(EPOCH_MS + t as u64, &bytes).into_uuid();
        }

        let mut child_start = vec![0 as Ix; n + 1];
        for &p in &b.parent {
            if p != NO_PARENT {
                child_start[p as usize + 1] += 1;
            }
        }
        for i in 0..n {
            child_start[i + 1] += child_start[i];
        }
        let mut fill = child_start.clone();
        let mut children = vec![0 as Ix; n];
        for (v, &p) in b.parent.iter().enumerate() {
            if p != NO_PARENT {
                children[fill[p as usize] as usize] = ix(v);
                fill[p as usize] += 1;
            }
        }
        for v in 0..n {
            let (s, e) = (child_start[v] as usize, child_start[v + 1] as usize);
            children[s..e].sort_unstable_by_key(|&c| id[c as usize]);
        }

        // Pre-order with children by id: PostgreSQL compares uuids (and so
        // uuid[] paths) byte by byte, as Uuid's Ord does.
        let mut order = Vec::with_capacity(n);
        let mut stack: Vec<Ix> = (0..n)
            .filter(|&v| b.parent[v] == NO_PARENT)
            .map(ix)
            .collect();
        stack.sort_unstable_by_key(|&r| std::cmp::Reverse(id[r as usize]));
        while let Some(v) = stack.pop() {
            order.push(v);
            let (s, e) = (
                child_start[v as usize] as usize,
                child_start[v as usize + 1] as usize,
            );
            stack.extend(children[s..e].iter().rev());
        }
        let mut pre = vec![0 as Ix; n];
        for (i, &v) in order.iter().enumerate() {
            pre[v as usize] = ix(i);
        }
        let mut size = vec![1 as Ix; n];
        for &v in order.iter().rev() {
            let p = b.parent[v as usize];
            if p != NO_PARENT {
                size[p as usize] += size[v as usize];
            }
        }

        Tree {
            id,
            parent: b.parent,
            org: b.org,
            kind: b.kind,
            depth: b.depth,
            sibling: b.sibling,
            levels,
            child_start,
            children,
            order,
            pre,
            size,
            fixture,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.id.len()
    }

    /// The parent of `v`, `None` for an organization.
    pub fn parent(&self, v: Ix) -> Option<Ix> {
        let p = self.parent[v as usize];
        (p != NO_PARENT).then_some(p)
    }

    /// The org id of `v` (the id of its root).
    pub fn org_id(&self, v: Ix) -> Uuid {
        self.id[self.org[v as usize] as usize]
    }

    /// Children of `v`, by id.
    pub fn children(&self, v: Ix) -> &[Ix] {
        &self.children
            [self.child_start[v as usize] as usize..self.child_start[v as usize + 1] as usize]
    }

    /// Number of descendants of `v`.
    pub fn descendants(&self, v: Ix) -> u32 {
        self.size[v as usize] - 1
    }

    /// Root..parent of `v`.
    pub fn ancestors(&self, v: Ix) -> Vec<Ix> {
        let mut up = Vec::with_capacity(usize::from(self.depth[v as usize]));
        let mut p = self.parent(v);
        while let Some(a) = p {
            up.push(a);
            p = self.parent(a);
        }
        up.reverse();
        up
    }

    /// The materialized path of `v` (`ancestors || id`), as ids.
    pub fn path(&self, v: Ix) -> Vec<Uuid> {
        let mut path: Vec<Uuid> = self
            .ancestors(v)
            .iter()
            .map(|&a| self.id[a as usize])
            .collect();
        path.push(self.id[v as usize]);
        path
    }

    /// The `k`-th descendant of `v` in pre-order (`k` from 1).
    pub fn nth_descendant(&self, v: Ix, k: u32) -> Ix {
        self.order[(self.pre[v as usize] + k) as usize]
    }

    /// Descendants of `v` after the first `skip`, at most `limit` of them, in pre-order.
    pub fn subtree_page(&self, v: Ix, skip: u32, limit: u32) -> &[Ix] {
        let start = self.pre[v as usize] as usize + 1 + skip as usize;
        let end = (self.pre[v as usize] + self.size[v as usize]) as usize;
        &self.order[start.min(end)..end.min(start + limit as usize)]
    }

    /// How many nodes of each kind, in [`NodeKind::ALL`] order.
    pub fn count_by_kind(&self) -> [usize; 5] {
        let mut counts = [0; 5];
        for &k in &self.kind {
            counts[NodeKind::ALL.iter().position(|&x| x == k).unwrap_or(0)] += 1;
        }
        counts
    }

    /// How many nodes on each depth, from 0.
    pub fn count_by_depth(&self) -> Vec<usize> {
        self.levels.iter().map(Vec::len).collect()
    }

    /// Indices of the organizations.
    pub fn organizations(&self) -> &[Ix] {
        &self.levels[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_keeps_the_rules() {
        let a = Tree::generate(5_000, 500, 7);
        let b = Tree::generate(5_000, 500, 7);
        assert_eq!(a.id, b.id);
        assert!(a.len() >= 5_000, "{}", a.len());
        for v in 0..ix(a.len()) {
            let ok = a.kind[v as usize].may_have_parent(a.parent(v).map(|p| a.kind[p as usize]));
            assert!(ok, "kind rule broken at {v}");
            assert!(a.depth[v as usize] <= LAST_DEPTH);
        }
        assert_eq!(a.descendants(a.fixture.production), 500);
        assert_eq!(a.parent(a.fixture.home), Some(0));
        assert_eq!(a.parent(a.fixture.away), Some(0));
    }

    #[test]
    fn pre_order_follows_paths() {
        let t = Tree::generate(3_000, 100, 3);
        let paths: Vec<Vec<Uuid>> = t.order.iter().map(|&v| t.path(v)).collect();
        assert!(paths.windows(2).all(|w| w[0] < w[1]));
        let root = t.organizations()[0];
        let page = t.subtree_page(root, 0, 10);
        assert_eq!(page[0], t.nth_descendant(root, 1));
        assert_eq!(t.subtree_page(root, 1, 10)[0], page[1]);
    }
}

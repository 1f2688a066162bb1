//! Row ids: uuid v7 shaped, drawn from the seed, never from the clock.
//!
//! Row `n` of a table gets the millisecond `IMPORT_MS + n` and ten random
//! bytes read at word `4n` of that table's ChaCha stream (one stream per
//! table, keyed by the seed). So ids grow in load order (every index on
//! `(org_id, id)` is appended to, as with real v7 ids), and any generator
//! can name any row of another table from its ordinal without storing it.

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use uuid::Uuid;

use super::table::Table;

/// 2025-06-01T00:00:00Z: when the (imaginary) import that minted the ids ran.
pub(crate) const IMPORT_MS: u64 = 1_748_736_000_000;
/// The same instant in Unix seconds.
pub(crate) const IMPORT_SECS: i64 = 1_748_736_000;

/// Mixed into the seed for the id streams' key.
const ID_STREAM: u64 = 0x4944_5321_4944_5321; // "IDS!IDS!"

/// Where ids come from.
#[derive(Debug, Clone)]
pub(crate) struct Ids {
    key: [u8; 32],
}

impl Ids {
    /// The id streams of `seed`.
    pub(crate) fn new(seed: u64) -> Ids {
        Ids {
            key: StdRng::seed_from_u64(seed ^ ID_STREAM).random(),
        }
    }

    /// A reader of `table`'s ids, at row 0.
    pub(crate) fn cursor(&self, table: Table) -> IdCursor {
        let mut rng = ChaCha12Rng::from_seed(self.key);
        rng.set_stream(table as u64);
        IdCursor { rng, next: 0 }
    }
}

/// Reads one table's ids; reading them in order costs no seek.
#[derive(Debug, Clone)]
pub(crate) struct IdCursor {
    rng: ChaCha12Rng,
    next: u64,
}

impl IdCursor {
    /// The id of row `ordinal`.
    pub(crate) fn at(&mut self, ordinal: u64) -> Uuid {
        if ordinal != self.next {
            self.rng.set_word_pos(u128::from(ordinal) * 4);
        }
        self.next = ordinal + 1;
        let mut random = [0u8; 16];
        self.rng.fill_bytes(&mut random);
        let mut bytes = [0u8; 10];
        bytes.copy_from_slice(&random[..10]);
        uuid::Builder::from_unix_timestamp_millis(IMPORT_MS + ordinal, &bytes).into_uuid()
    }

    /// The ids of rows `start..start + len`.
    pub(crate) fn range(&mut self, start: u64, len: u64) -> Vec<Uuid> {
        (start..start + len).map(|o| self.at(o)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_the_same_in_any_reading_order() {
        let ids = Ids::new(42);
        let mut forward = ids.cursor(Table::Tasks);
        let in_order: Vec<Uuid> = (0..100).map(|o| forward.at(o)).collect();
        let mut backward = ids.cursor(Table::Tasks);
        let mut reversed: Vec<Uuid> = (0..100).rev().map(|o| backward.at(o)).collect();
        reversed.reverse();
        assert_eq!(in_order, reversed);
        assert!(
            in_order.windows(2).all(|w| w[0] < w[1]),
            "ids grow with the ordinal"
        );
        assert!(in_order.iter().all(|u| u.get_version_num() == 7));
        let other = ids.cursor(Table::Nodes).at(0);
        assert_ne!(other, in_order[0], "each table has its own stream");
        assert_ne!(Ids::new(43).cursor(Table::Tasks).at(0), in_order[0]);
    }
}

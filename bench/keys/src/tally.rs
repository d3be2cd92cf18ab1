//! Capacity units per partition key, for several key layouts at once (the
//! layout before sharding and the configured one), and the report built
//! from them.

use std::collections::HashMap;
use std::sync::Mutex;

/// Where a unit lands: the layout's name, the table or index, the key.
type Slot = (&'static str, &'static str, String);

/// Write and read units per partition key of each layout.
#[derive(Default)]
pub struct Tally {
    writes: Mutex<HashMap<Slot, f64>>,
    reads: Mutex<HashMap<Slot, f64>>,
}

/// One table or index of one layout: its busiest partition key.
#[derive(Debug, Clone)]
pub struct Hottest {
    pub layout: &'static str,
    pub index: &'static str,
    /// Units over the whole run, all keys.
    pub total_units: f64,
    pub partition_keys: usize,
    pub busiest_key: String,
    pub busiest_units: f64,
}

impl Hottest {
    /// The busiest key's share of the index's units.
    pub fn share(&self) -> f64 {
        if self.total_units == 0.0 {
            0.0
        } else {
            self.busiest_units / self.total_units
        }
    }

    /// Units a second on the busiest key when `dispatches` of the run arrive
    /// at `rate` a second.
    pub fn per_second(&self, dispatches: usize, rate: f64) -> f64 {
        self.busiest_units / dispatches.max(1) as f64 * rate
    }
}

impl Tally {
    pub fn write(&self, layout: &'static str, index: &'static str, key: String, units: f64) {
        add(&self.writes, (layout, index, key), units);
    }

    pub fn read(&self, layout: &'static str, index: &'static str, key: String, units: f64) {
        add(&self.reads, (layout, index, key), units);
    }

    /// The busiest write key of every (layout, index), sorted.
    pub fn hottest_writes(&self) -> Vec<Hottest> {
        hottest(&self.writes)
    }

    /// The busiest read key of every (layout, index), sorted.
    pub fn hottest_reads(&self) -> Vec<Hottest> {
        hottest(&self.reads)
    }
}

fn add(map: &Mutex<HashMap<Slot, f64>>, slot: Slot, units: f64) {
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *map.entry(slot).or_default() += units;
}

fn hottest(map: &Mutex<HashMap<Slot, f64>>) -> Vec<Hottest> {
    let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut by_index: HashMap<(&'static str, &'static str), Hottest> = HashMap::new();
    for ((layout, index, key), units) in map.iter() {
        let entry = by_index.entry((layout, index)).or_insert_with(|| Hottest {
            layout,
            index,
            total_units: 0.0,
            partition_keys: 0,
            busiest_key: String::new(),
            busiest_units: 0.0,
        });
        entry.total_units += units;
        entry.partition_keys += 1;
        if *units > entry.busiest_units {
            entry.busiest_units = *units;
            entry.busiest_key = key.clone();
        }
    }
    let mut all: Vec<Hottest> = by_index.into_values().collect();
    all.sort_by(|a, b| (a.layout, a.index).cmp(&(b.layout, b.index)));
    all
}

/// DynamoDB write units of an item of `bytes` (1 KB each, rounded up).
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// Strongly consistent read units of `bytes` (4 KB each, rounded up).
pub fn read_units(bytes: usize) -> f64 {
    bytes.div_ceil(4096).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busiest_key_and_rates() {
        let tally = Tally::default();
        tally.write("sharded", "table", "a".into(), 3.0);
        tally.write("sharded", "table", "b".into(), 1.0);
        tally.write("sharded", "table", "a".into(), 2.0);
        let hot = &tally.hottest_writes()[0];
        assert_eq!(hot.busiest_key, "a");
        assert_eq!(hot.partition_keys, 2);
        assert!((hot.share() - 5.0 / 6.0).abs() < 1e-9);
        // 5 units over 10 dispatches at 1,000 dispatches/s = 500 units/s.
        assert!((hot.per_second(10, 1_000.0) - 500.0).abs() < 1e-9);
        assert_eq!(write_units(1), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(read_units(4097), 2.0);
    }
}

//! What a cached value holds on the heap, for the byte budgets of the value caches (the open
//! cache, and the `auth` layer's verified tokens): a walk of the value that adds up the blocks
//! it owns, each counted as the bytes asked of the allocator plus [`BLOCK_OVERHEAD`].
//!
//! Sizes come from `std::mem::size_of` and from `String` and `Vec` capacities. The one
//! exception is the B-tree behind serde_json's `Map` (a `BTreeMap<String, Value>`: this crate
//! does not turn on serde_json's `preserve_order`), whose node types are private to `std`:
//! their sizes are rebuilt from std's definitions (see [`LEAF_NODE`]). `benches/memory.rs`
//! checks the result against an allocator's count.

use std::mem::{align_of, size_of};
use std::sync::Arc;

use serde_json::{Map, Value};

/// Bytes an allocator adds to every block it hands out: glibc's `malloc`, the default on
/// Linux, keeps a `usize` size word in front of each chunk. (It also rounds chunks up to 16
/// bytes; that depends on the size and is not counted, so the count stays at or below what
/// glibc really uses, and above what is asked of it.)
pub(crate) const BLOCK_OVERHEAD: usize = size_of::<usize>();

/// std's B-tree order (`B` in `alloc::collections::btree::node`): a node has room for
/// `2 * B - 1` entries and, unless it is the root, holds at least `B - 1`; an internal node
/// has room for `2 * B` children and, unless it is the root, has at least `B`.
const B: usize = 6;
/// Entries a B-tree node has room for.
const NODE_CAPACITY: usize = 2 * B - 1;
/// Entries every B-tree node but the root holds at least.
const NODE_MIN_LEN: usize = B - 1;
/// Bytes of a leaf node of a `BTreeMap<String, Value>`: std's `LeafNode` holds a pointer to
/// its parent, its index in the parent and its length (two `u16`), then room for
/// [`NODE_CAPACITY`] keys and as many values.
const LEAF_NODE: usize = {
    let align = max(align_of::<usize>(), max(align_of::<String>(), align_of::<Value>()));
    let header = (size_of::<usize>() + 2 * size_of::<u16>()).next_multiple_of(align);
    (header + NODE_CAPACITY * (size_of::<String>() + size_of::<Value>())).next_multiple_of(align)
};
/// Bytes an internal node adds to a leaf node: std's `InternalNode` is a `LeafNode` followed
/// by room for `2 * B` child pointers.
const INTERNAL_EDGES: usize = 2 * B * size_of::<usize>();

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Bytes counted for a block of `size` bytes: nothing for 0 (no block is allocated).
pub(crate) fn block(size: usize) -> usize {
    if size == 0 {
        0
    } else {
        size + BLOCK_OVERHEAD
    }
}

/// Bytes counted for the block of an `Arc<T>`: std's `ArcInner`, the strong and weak counts
/// followed by the `T`.
pub(crate) fn arc<T>() -> usize {
    block((2 * size_of::<usize>()).next_multiple_of(align_of::<T>()) + size_of::<T>())
}

/// Bytes counted for a shared JSON object: the `Arc`'s block and what the map holds.
pub(crate) fn shared_map(map: &Arc<Map<String, Value>>) -> usize {
    arc::<Map<String, Value>>() + self::map(map)
}

/// Bytes a JSON object holds on the heap: its B-tree's nodes, then each key's and value's own
/// blocks (the `Map` itself lies wherever its owner keeps it).
pub(crate) fn map(map: &Map<String, Value>) -> usize {
    let entries: usize = map.iter().map(|(key, item)| block(key.capacity()) + value(item)).sum();
    btree_nodes(map.len()) + entries
}

/// Bytes a JSON value holds on the heap (the `Value` itself lies in its parent's node or
/// vector): a string's buffer, an array's buffer and items, an object's map.
pub(crate) fn value(value: &Value) -> usize {
    match value {
        Value::String(text) => block(text.capacity()),
        Value::Array(items) => {
            block(items.capacity() * size_of::<Value>())
                + items.iter().map(self::value).sum::<usize>()
        }
        Value::Object(object) => map(object),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// Bytes of the nodes of a `BTreeMap<String, Value>` with `len` entries, at most, and exactly
/// for up to 13 entries. Up to [`NODE_CAPACITY`] entries fit the root leaf. Beyond that, every
/// node but the root holds at least [`NODE_MIN_LEN`] entries, so there are at most
/// `1 + (len - 1) / NODE_MIN_LEN` nodes; and as the `nodes - 1` child links give the root at
/// least 2 and every other internal node at least `B`, at most `(nodes + 3) / B` of them are
/// internal. Larger maps fill their nodes more than that minimum, so they are over-counted: by
/// about a fifth for keys inserted in order (as serde_json reads its own output), up to about
/// a half for keys in random order.
fn btree_nodes(len: usize) -> usize {
    match len {
        0 => 0,
        1..=NODE_CAPACITY => block(LEAF_NODE),
        _ => {
            let nodes = 1 + (len - 1) / NODE_MIN_LEN;
            let internal = (nodes + 3) / B;
            nodes * block(LEAF_NODE) + internal * INTERNAL_EDGES
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn the_map_is_a_b_tree() {
        // With serde_json's `preserve_order` the map would be an `IndexMap` (keys in insertion
        // order): the node sizes above would not apply.
        let map = object(serde_json::from_str(r#"{"b": 1, "c": 2, "a": 3}"#).unwrap());
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        // With `arbitrary_precision` a number would hold its text on the heap.
        assert_eq!(size_of::<serde_json::Number>(), 2 * size_of::<u64>());
    }

    #[test]
    fn node_sizes_follow_std_s_layout_on_64_bit_targets() {
        if size_of::<usize>() == 8 {
            // 8 (parent) + 2 + 2 + padding 4 + 11 * (24 + 32): the sizes a counting allocator
            // saw std 1.95 ask for one leaf, and for a map split into two leaves and a root.
            assert_eq!(LEAF_NODE, 632);
            assert_eq!(LEAF_NODE + INTERNAL_EDGES, 728);
        }
        assert_eq!(LEAF_NODE % align_of::<Value>(), 0);
    }

    #[test]
    fn b_tree_nodes_have_room_for_the_entries_and_grow_with_them() {
        assert_eq!(btree_nodes(0), 0);
        assert_eq!(btree_nodes(1), block(LEAF_NODE));
        assert_eq!(btree_nodes(NODE_CAPACITY), block(LEAF_NODE));
        // The twelfth entry splits the root: two leaves under an internal node.
        let split = 3 * block(LEAF_NODE) + INTERNAL_EDGES;
        assert_eq!(btree_nodes(NODE_CAPACITY + 1), split);
        assert_eq!(btree_nodes(13), split);
        let mut last = 0;
        for len in 0..2_000 {
            let bytes = btree_nodes(len);
            assert!(bytes >= last, "{len}");
            assert!(bytes / block(LEAF_NODE) * NODE_CAPACITY >= len, "room for {len}");
            last = bytes;
        }
    }

    #[test]
    fn blocks_count_their_bytes_and_the_overhead() {
        assert_eq!(block(0), 0);
        assert_eq!(block(1), 1 + BLOCK_OVERHEAD);
        assert_eq!(arc::<u8>(), block(2 * size_of::<usize>() + 1));
        assert_eq!(
            arc::<Map<String, Value>>(),
            block(2 * size_of::<usize>() + size_of::<Map<String, Value>>())
        );
        let empty = Arc::new(Map::new());
        assert_eq!(
            shared_map(&empty),
            arc::<Map<String, Value>>(),
            "an empty map allocates nothing"
        );
    }

    #[test]
    fn values_count_what_they_hold() {
        assert_eq!(value(&json!(null)), 0);
        assert_eq!(value(&json!(12.5)), 0);
        assert_eq!(value(&json!("")), 0);
        assert_eq!(value(&Value::String(String::with_capacity(40))), block(40));
        let mut items = Vec::with_capacity(8);
        items.push(json!("abc"));
        assert_eq!(value(&Value::Array(items)), block(8 * size_of::<Value>()) + block(3));
        let nested = json!({ "k": { "inner": "xy" } });
        let inner = block(LEAF_NODE) + block(5) + block(2);
        assert_eq!(value(&nested), block(LEAF_NODE) + block(1) + inner);
    }

    #[test]
    fn a_map_grows_with_its_keys_and_values() {
        let mut map = Map::new();
        let mut last = self::map(&map);
        assert_eq!(last, 0);
        for i in 0..40 {
            let key = format!("key-{i:02}");
            let text = "v".repeat(i);
            let added = block(key.len()) + block(text.len());
            map.insert(key, Value::String(text));
            let now = self::map(&map);
            assert!(now >= last + added, "entry {i}: {now} < {last} + {added}");
            last = now;
        }
        let before = self::map(&map);
        map.insert("key-00".into(), Value::String("longer".into()));
        assert_eq!(self::map(&map), before + block(6), "a longer value, same entries");
    }
}

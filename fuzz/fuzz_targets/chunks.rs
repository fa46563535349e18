//! Fuzzes chunked cookies: a real sealed session is cut into 1 to 8 chunks at fuzzer-chosen
//! points, the chunks are edited (dropped, swapped, duplicated, truncated, bytes changed,
//! fuzzer text inserted) and joined in order, as the server joins `session`, `session.1`, …;
//! the result is opened at the fuzzing clock. Oracle: it opens if and only if the joined text is
//! the original value, and then to the original session. Never a panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wristband_rocket_session::SessionCodec;
use wristband_rocket_session_fuzz::{codec, known_values, now};

/// The codec and the known-good value of about 1 KB of JSON.
static FIXTURE: LazyLock<(SessionCodec, Map<String, Value>, String)> = LazyLock::new(|| {
    let codec = codec(8);
    let (value, session) = known_values(&codec).swap_remove(2);
    (codec, session, value)
});

/// Reads the input a byte or a big-endian `u16` at a time; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }
    fn u16(&mut self) -> usize {
        usize::from(self.byte()) << 8 | usize::from(self.byte())
    }
}

/// The char boundary at or before byte `i` of `s` (inserted fuzzer text may be non-ASCII).
fn boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fuzz_target!(|data: &[u8]| {
    let (codec, session, value) = &*FIXTURE;
    let mut input = Input(data);

    // Cut the value into chunks at sorted cut points.
    let count = 1 + usize::from(input.byte() % 8);
    let mut cuts: Vec<usize> = (1..count).map(|_| input.u16() % (value.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks: Vec<String> = Vec::with_capacity(count);
    let mut start = 0;
    for cut in cuts.into_iter().chain([value.len()]) {
        chunks.push(value[start..cut].to_string());
        start = cut;
    }

    // Up to 8 edits.
    for _ in 0..input.byte() % 9 {
        let op = input.byte();
        let i = usize::from(input.byte()) % chunks.len().max(1);
        match op % 6 {
            0 if chunks.len() > 1 => {
                chunks.remove(i);
            }
            1 => {
                let j = usize::from(input.byte()) % chunks.len().max(1);
                if !chunks.is_empty() {
                    chunks.swap(i, j);
                }
            }
            2 if !chunks.is_empty() && chunks.len() < 8 => {
                let copy = chunks[i].clone();
                chunks.insert(i, copy);
            }
            3 if !chunks.is_empty() => {
                let len = boundary(&chunks[i], input.u16() % (chunks[i].len() + 1));
                chunks[i].truncate(len);
            }
            4 if !chunks.is_empty() && !chunks[i].is_empty() => {
                let at = boundary(&chunks[i], input.u16() % chunks[i].len());
                let byte = input.byte();
                if byte.is_ascii() {
                    let end = at + chunks[i][at..].chars().next().map_or(0, char::len_utf8);
                    chunks[i].replace_range(at..end, &char::from(byte).to_string());
                }
            }
            5 if !chunks.is_empty() => {
                let len = usize::from(input.byte()) % 64;
                let take = len.min(input.0.len());
                let text = String::from_utf8_lossy(&input.0[..take]).into_owned();
                input.0 = &input.0[take..];
                let at = boundary(&chunks[i], input.u16() % (chunks[i].len() + 1));
                chunks[i].insert_str(at, &text);
            }
            _ => {}
        }
    }

    let joined: String = chunks.concat();
    let opened = codec.open_at(&joined, now());
    if joined == *value {
        assert_eq!(opened.as_ref(), Some(session), "the original value must open");
    } else {
        assert!(opened.is_none(), "an edited value opened");
    }
});

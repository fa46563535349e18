//! Prints a fresh random session secret: 32 bytes from the OS random source, base64url (43
//! characters), and how to set it in production.
//!
//! ```sh
//! cargo run --example gen_secret
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

fn main() {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    println!("{secret}");
    eprintln!(
        "hint: in production, set it with ROCKET_WRISTBAND_SESSION='{{secrets=[\"{secret}\"]}}' \
         (put a new secret first, keep the old one second until max_age has passed)"
    );
}

//! Fuzz target: arbitrary bytes -> RawCommand (0xFF separates text and
//! literal parts) -> parse_command. Must never panic.
#![no_main]

use bincimap::imap::parser::{parse_command, raw_command_from_fuzz_input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_command(raw_command_from_fuzz_input(data));
});
